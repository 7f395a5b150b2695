// The follow-up worklist (回访): pending calls back to elders after an order or an emergency call, the
// overdue ones highlighted; the agent dials, records whether the elder was reached, the satisfaction
// score and comment, and can register a complaint in the same step.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { pickable } from './pickable.js';
import { api } from './api.js';
import { formatTime } from './i18n.js';
import { useTopic } from './live.js';
import { PhoneNumber } from './phone.js';

const REFRESH_MS = 60_000; // retries fall due as time passes; new follow-ups are pushed

function FollowUpRow({ item, selected, t, onSelect }) {
  return html`
    <tr class=${`followup-row ${item.overdue ? 'overdue' : ''} ${selected ? 'selected' : ''}`} data-testid="followup-row"
        data-followup-id=${item.id} data-order-id=${item.order_id ?? ''} ...${pickable(() => onSelect(item.id))}>
      <td class=${item.overdue ? 'overdue-tag' : ''}>${formatTime(item.due_at)}</td>
      <td>${t(`followup_kind.${item.kind}`)}</td>
      <td class="elder-name" translate=${false}>${item.elder_name}</td>
      <td>${subjectText(item, t)}</td>
      <td translate=${false}>${item.provider_name || '—'}</td>
      <td>${item.attempts}</td>
    </tr>`;
}

function SatisfactionButtons({ value, t, onChange }) {
  return html`
    <div class="satisfaction" role="group" aria-label=${t('satisfaction')}>
      ${[1, 2, 3, 4, 5].map((n) => html`
        <button key=${n} type="button" data-testid=${`satisfaction-${n}`} aria-pressed=${value === n}
          class=${value === n ? `score score-${n} chosen` : `score score-${n}`} title=${t(`satisfaction_level.${n}`)}
          onClick=${() => onChange(n)}>${n}<small>${t(`satisfaction_level.${n}`)}</small></button>`)}
    </div>`;
}

function FollowUpForm({ item, t, onError, onSaved }) {
  const [reached, setReached] = useState(true);
  const [satisfaction, setSatisfaction] = useState(null);
  const [comment, setComment] = useState('');
  const [complaining, setComplaining] = useState(false);
  const [complaint, setComplaint] = useState('');
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const choose = (score) => {
    setSatisfaction(score);
    setProblem('');
  };
  const submit = async (event) => {
    event.preventDefault();
    if (reached && satisfaction === null) return setProblem(t('satisfaction_required'));
    if (complaining && !complaint.trim()) return setProblem(t('complaint_required'));
    setProblem('');
    setBusy(true);
    try {
      const body = {
        reached,
        satisfaction: reached ? satisfaction : null,
        comment: comment.trim(),
        complaint: complaining ? { text: complaint.trim() } : null,
      };
      onSaved(await api(`/api/v1/follow-ups/${item.id}`, { method: 'POST', body }));
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
    return undefined;
  };
  return html`
    <form class="followup-form" data-testid="followup-form" onSubmit=${submit}>
      <fieldset class="reached">
        <legend>${t('reached_q')}</legend>
        <label><input type="radio" name="reached" data-testid="reached-yes" checked=${reached} onChange=${() => setReached(true)} /> ${t('reached_yes')}</label>
        <label><input type="radio" name="reached" data-testid="reached-no" checked=${!reached} onChange=${() => setReached(false)} /> ${t('reached_no')}</label>
      </fieldset>
      ${reached && html`<div><strong>${t('satisfaction')}</strong><${SatisfactionButtons} value=${satisfaction} t=${t} onChange=${choose} /></div>`}
      <label class="wide">${t('comment')}
        <textarea data-testid="followup-comment" value=${comment} onInput=${(e) => setComment(e.target.value)} maxlength="2000"></textarea></label>
      <label><input type="checkbox" data-testid="register-complaint" checked=${complaining}
        onChange=${(e) => setComplaining(e.target.checked)} /> ${t('register_complaint')}</label>
      ${complaining && html`<label class="wide">${t('complaint_text')}
        <textarea data-testid="complaint-text" value=${complaint} onInput=${(e) => setComplaint(e.target.value)} maxlength="4000"></textarea></label>`}
      ${problem && html`<p class="error" role="alert">${problem}</p>`}
      <button type="submit" class="primary" data-testid="followup-submit" disabled=${busy}>${t('record_followup')}</button>
    </form>`;
}

function FollowUpDetail({ followUpId, t, onError, onSaved }) {
  const [item, setItem] = useState(null);
  useEffect(() => {
    api(`/api/v1/follow-ups/${followUpId}`).then(setItem, onError);
  }, [followUpId]);
  if (!item) return html`<aside class="followup-detail card"></aside>`;
  return html`
    <aside class="followup-detail card" data-testid="followup-detail" data-followup-id=${item.id}>
      <h2><span class="elder-name" translate=${false}>${item.elder_name}</span> · ${t(`followup_kind.${item.kind}`)}</h2>
      <dl class="facts">
        <dt>${t('subject')}</dt><dd data-testid="followup-subject">${subjectText(item, t)}</dd>
        <dt>${t('phone')}</dt><dd><${PhoneNumber} number=${item.elder_phone} links=${{ follow_up_id: item.id }} t=${t} testid="followup-phone" /></dd>
        <dt>${t('col.provider')}</dt><dd translate=${false}>${item.provider_name || '—'}</dd>
        <dt>${t('due_at')}</dt><dd class=${item.overdue ? 'overdue-tag' : ''}>${formatTime(item.due_at)}</dd>
        <dt>${t('attempts')}</dt><dd>${item.attempts}${item.attempts ? ` · ${t('next_attempt')} ${formatTime(item.next_attempt_at)}` : ''}</dd>
      </dl>
      <${FollowUpForm} key=${item.id} item=${item} t=${t} onError=${onError} onSaved=${onSaved} />
    </aside>`;
}

export function FollowUpsView({ topics, t, onError, onInfo }) {
  const [dueOnly, setDueOnly] = useState(false);
  const [page, setPage] = useState({ items: [], total: 0 });
  const [selectedId, setSelectedId] = useState(null);
  const [reloads, setReloads] = useState(0);
  const reload = () => setReloads((n) => n + 1);
  useEffect(() => {
    api(`/api/v1/follow-ups?state=pending&limit=200${dueOnly ? '&due=now' : ''}`).then(setPage, onError);
  }, [dueOnly, reloads]);
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  // New follow-ups are pushed; a reconnect may have missed some (and the timer brings retries due).
  useTopic(topics, 'follow_up', reload);
  useTopic(topics, 'resync', reload);

  const saved = (result) => {
    setSelectedId(null);
    setPage((p) => (result.state === 'pending'
      ? { ...p, items: p.items.map((f) => (f.id === result.id ? result : f)) }
      : { items: p.items.filter((f) => f.id !== result.id), total: p.total - 1 }));
    onInfo(result.complaint_id ? `${t('followup_saved')} · ${t('complaint_created', { id: result.complaint_id })}` : t('followup_saved'));
  };

  return html`
    <section class="desk-view followups-view" aria-label=${t('followups_title')}>
      <div class="board card">
        <div class="board-head">
          <h2>${t('followups_title')} <span class="count" data-testid="followups-count">${page.total}</span></h2>
          <label><input type="checkbox" checked=${dueOnly} onChange=${(e) => setDueOnly(e.target.checked)} /> ${t('due_only')}</label>
        </div>
        <table class="orders-table" data-testid="followups-list">
          <thead><tr>
            <th>${t('due_at')}</th><th>${t('col.source')}</th><th>${t('col.elder')}</th><th>${t('subject')}</th>
            <th>${t('col.provider')}</th><th>${t('attempts')}</th>
          </tr></thead>
          <tbody>
            ${page.items.map((f) => html`<${FollowUpRow} key=${f.id} item=${f} selected=${f.id === selectedId} t=${t} onSelect=${setSelectedId} />`)}
          </tbody>
        </table>
        ${page.items.length === 0 && html`<p class="empty">${t('no_followups')}</p>`}
      </div>
      ${selectedId === null
        ? html`<aside class="followup-detail card empty">${t('select_followup')}</aside>`
        : html`<${FollowUpDetail} key=${selectedId} followUpId=${selectedId} t=${t} onError=${onError} onSaved=${saved} />`}
    </section>`;
}

/** What a follow-up is about, in the UI's language: the service and its time, or the call's priority,
 * category and time (the stored subject only for a follow-up made before subjects were data). */
function subjectText(item, t) {
  const p = item.subject_params || {};
  if (p.service_type) return `${t(`service.${p.service_type}`)} ${formatTime(p.at)}`;
  if (p.category) return `${p.priority} ${t(`category.${p.category}`)} ${formatTime(p.at)}`;
  return item.subject;
}
