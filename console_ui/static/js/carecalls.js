// Care calls (关爱探访): the agent's well-being calls due today (or everyone's still to be made); the agent
// rings the elder and records whether they were reached, what was said and what goes into the elder's
// record. Supervisors can make this week's and this month's tasks at once.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { pickable } from './pickable.js';
import { api } from './api.js';
import { formatTime, localToday } from './i18n.js';
import { useTopic } from './live.js';
import { Pager } from './pager.js';
import { PhoneNumber } from './phone.js';

const CHANNELS = ['phone', 'video', 'visit'];
const PAGE_SIZE = 50;
const REFRESH_MS = 60_000; // the day turns over and tasks are scheduled by the server's timer

function isManager(me) {
  return me.role === 'supervisor' || me.role === 'admin';
}

function worklistQuery(showAll, offset) {
  const params = new URLSearchParams({ state: 'scheduled', limit: String(PAGE_SIZE), offset: String(offset) });
  if (!showAll) {
    params.set('mine', 'true');
    params.set('due_by', localToday());
  }
  return `/api/v1/care-calls?${params}`;
}

/** "11-24" for a due day, "今天" for today. */
function dueText(dueOn, t) {
  return dueOn === localToday() ? t('today') : dueOn.slice(5);
}

function assigneeText(item, t) {
  if (item.assignee === 'agent') return item.operator_name || t('unassigned');
  return `${t('care_assignee.community_worker')} ${item.contact_name || ''}`.trim();
}

function CareCallRow({ item, selected, showAll, t, onSelect }) {
  return html`
    <tr class=${`carecall-row ${item.overdue ? 'overdue' : ''} ${selected ? 'selected' : ''}`} data-testid="carecall-row"
        data-care-call-id=${item.id} data-elder-id=${item.elder_id} ...${pickable(() => onSelect(item.id))}>
      <td class="elder-name" translate=${false}>${item.elder_name}</td>
      <td><span class=${`cadence cadence-${item.cadence}`}>${t(`cadence.${item.cadence}`)}</span></td>
      <td class=${item.overdue ? 'overdue-tag' : ''}>${dueText(item.due_on, t)}
        ${item.overdue && html` <span data-testid="carecall-overdue">${t('overdue')}</span>`}</td>
      <td data-testid="carecall-attempts">${item.attempts}</td>
      ${showAll && html`<td>${assigneeText(item, t)}</td>`}
    </tr>`;
}

function AttemptLog({ log, t }) {
  if (!log.length) return null;
  return html`
    <section aria-label=${t('attempt_log')}>
      <h3>${t('attempt_log')}</h3>
      <ol class="timeline attempt-log" data-testid="carecall-log">
        ${log.map((a, i) => html`
          <li key=${i}>
            <time>${formatTime(a.at)}</time>
            <span class="entry-who">${a.by}</span>
            <span class="entry-text">${a.reached ? t('reached_yes') : t('reached_no')} · ${t(`care_channel.${a.channel}`)}${a.notes ? ` · ${a.notes}` : ''}</span>
          </li>`)}
      </ol>
    </section>`;
}

function CareCallForm({ item, t, onError, onSaved }) {
  const [reached, setReached] = useState(true);
  const [channel, setChannel] = useState(item.channel);
  const [notes, setNotes] = useState('');
  const [elderNotes, setElderNotes] = useState('');
  const [declining, setDeclining] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const body = { reached, channel, notes: notes.trim(), declining: reached && declining };
      if (elderNotes.trim()) body.elder_notes = elderNotes.trim();
      onSaved(await api(`/api/v1/care-calls/${item.id}/attempts`, { method: 'POST', body }));
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="carecall-form" data-testid="carecall-form" onSubmit=${submit}>
      <fieldset class="reached">
        <legend>${t('care_reached_q')}</legend>
        <label><input type="radio" name="reached" data-testid="carecall-reached-yes" checked=${reached} onChange=${() => setReached(true)} />
          ${t('reached_yes')}</label>
        <label><input type="radio" name="reached" data-testid="carecall-reached-no" checked=${!reached} onChange=${() => setReached(false)} />
          ${t('reached_no')}</label>
      </fieldset>
      <label>${t('channel')}
        <select data-testid="carecall-channel" value=${channel} onChange=${(e) => setChannel(e.target.value)}>
          ${CHANNELS.map((c) => html`<option key=${c} value=${c}>${t(`care_channel.${c}`)}</option>`)}
        </select>
      </label>
      <label class="wide">${t('care_notes')}
        <textarea data-testid="carecall-notes" value=${notes} onInput=${(e) => setNotes(e.target.value)} maxlength="2000"></textarea></label>
      <label class="wide">${t('elder_notes')}
        <textarea data-testid="carecall-elder-notes" placeholder=${t('elder_notes_placeholder')} value=${elderNotes}
          onInput=${(e) => setElderNotes(e.target.value)} maxlength="2000"></textarea></label>
      ${reached && html`<label class="inline"><input type="checkbox" data-testid="carecall-declining" checked=${declining}
        onChange=${(e) => setDeclining(e.target.checked)} /> ${t('care_declining')}</label>`}
      <button type="submit" class="primary" data-testid="carecall-submit" disabled=${busy}>${t('record_carecall')}</button>
    </form>`;
}

function CareCallDetail({ item, t, onError, onSaved }) {
  const [elder, setElder] = useState(null);
  useEffect(() => {
    api(`/api/v1/elders/${item.elder_id}`).then(setElder, onError);
  }, [item.elder_id, item.attempts]);
  return html`
    <aside class="carecall-detail card" data-testid="carecall-detail" data-care-call-id=${item.id}>
      <h2><span class="elder-name" translate=${false}>${item.elder_name}</span> · ${t(`cadence.${item.cadence}`)}</h2>
      <dl class="facts">
        <dt>${t('phone')}</dt><dd><${PhoneNumber} number=${elder?.phone} links=${{ care_call_id: item.id }} t=${t} testid="carecall-phone" /></dd>
        <dt>${t('address')}</dt><dd>${elder?.address || '—'}</dd>
        <dt>${t('due_on')}</dt><dd class=${item.overdue ? 'overdue-tag' : ''}>${item.due_on}${item.overdue ? ` ${t('overdue')}` : ''}</dd>
        <dt>${t('period')}</dt><dd>${item.period}</dd>
        <dt>${t('assignee')}</dt><dd>${assigneeText(item, t)}</dd>
        <dt>${t('attempts')}</dt><dd>${item.attempts}</dd>
        ${elder?.notes && html`<dt>${t('elder_record_notes')}</dt><dd class="elder-notes" data-testid="carecall-elder-record">${elder.notes}</dd>`}
      </dl>
      <${AttemptLog} log=${item.attempt_log} t=${t} />
      <${CareCallForm} key=${`${item.id}-${item.attempts}`} item=${item} t=${t} onError=${onError} onSaved=${onSaved} />
    </aside>`;
}

function ScheduleButton({ t, onError, onScheduled }) {
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState(null);
  const schedule = async () => {
    setBusy(true);
    try {
      const result = await api('/api/v1/care-calls/schedule', { method: 'POST', body: {} });
      setCreated(result.created);
      onScheduled(result.created);
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <button data-testid="carecall-schedule" disabled=${busy} onClick=${schedule}>${t('schedule_carecalls')}</button>
    ${created !== null && html`<span class="ok" data-testid="carecall-scheduled">${t('scheduled_n', { n: created })}</span>`}`;
}

function outcomeMessage(item, t) {
  if (item.state === 'done') return t('carecall_done');
  if (item.state === 'escalated') return t('carecall_escalated');
  return t('carecall_retry', { n: item.attempts });
}

export function CareCallsView({ me, topics, t, onError, onInfo }) {
  const [showAll, setShowAll] = useState(false);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState({ items: [], total: 0 });
  const [selectedId, setSelectedId] = useState(null);
  const [reloads, setReloads] = useState(0);
  const reload = () => setReloads((n) => n + 1);
  useEffect(() => {
    api(worklistQuery(showAll, offset)).then(setPage, onError);
  }, [showAll, offset, reloads]);
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  useTopic(topics, 'resync', reload);

  const saved = (result) => {
    const stillOpen = result.state === 'scheduled';
    if (!stillOpen) setSelectedId(null);
    setPage((p) => (stillOpen
      ? { ...p, items: p.items.map((c) => (c.id === result.id ? result : c)) }
      : { items: p.items.filter((c) => c.id !== result.id), total: p.total - 1 }));
    onInfo(outcomeMessage(result, t));
  };
  const scheduled = (created) => {
    onInfo(t('scheduled_n', { n: created }));
    reload();
  };
  const selected = page.items.find((c) => c.id === selectedId);

  return html`
    <section class="desk-view carecalls-view" aria-label=${t('carecalls_title')}>
      <div class="board card">
        <div class="board-head">
          <h2>${showAll ? t('carecalls_all') : t('carecalls_title')} <span class="count" data-testid="carecalls-count">${page.total}</span></h2>
          <label><input type="checkbox" data-testid="carecalls-show-all" checked=${showAll} onChange=${(e) => { setOffset(0); setShowAll(e.target.checked); }} />
            ${t('show_all_scheduled')}</label>
          ${isManager(me) && html`<${ScheduleButton} t=${t} onError=${onError} onScheduled=${scheduled} />`}
        </div>
        <table class="orders-table" data-testid="carecalls-list">
          <thead><tr>
            <th>${t('col.elder')}</th><th>${t('cadence_label')}</th><th>${t('due_on')}</th><th>${t('attempts')}</th>
            ${showAll && html`<th>${t('assignee')}</th>`}
          </tr></thead>
          <tbody>
            ${page.items.map((c) => html`<${CareCallRow} key=${c.id} item=${c} selected=${c.id === selectedId} showAll=${showAll}
              t=${t} onSelect=${setSelectedId} />`)}
          </tbody>
        </table>
        ${page.items.length === 0 && html`<p class="empty">${showAll ? t('no_carecalls_all') : t('no_carecalls')}</p>`}
        <${Pager} offset=${offset} size=${PAGE_SIZE} total=${page.total} t=${t} onOffset=${setOffset} testid="carecalls" />
      </div>
      ${selected
        ? html`<${CareCallDetail} key=${selected.id} item=${selected} t=${t} onError=${onError} onSaved=${saved} />`
        : html`<aside class="carecall-detail card empty">${t('select_carecall')}</aside>`}
    </section>`;
}
