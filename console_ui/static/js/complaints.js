// Complaints and suggestions (投诉): the pending, overdue and resolved lists; one complaint with its
// investigation notes, where supervisors (and the assignee) add notes and supervisors resolve it; and the
// form any operator uses to register a complaint taken on the phone.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { pickable } from './pickable.js';
import { api } from './api.js';
import { ElderPicker } from './elderpicker.js';
import { formatTime } from './i18n.js';
import { useTopic } from './live.js';

const TABS = ['pending', 'overdue', 'resolved'];
const KINDS = ['complaint', 'suggestion'];
const SOURCES = ['phone', 'call', 'follow_up', 'care_call', 'other'];
const TARGETS = ['provider', 'service']; // a complaint against an agent needs an operator id agents cannot look up
const INFORMED_HOW = ['phone', 'sms', 'visit'];
const PAGE_SIZE = 200;
const EXCERPT_CHARS = 40;
const REFRESH_MS = 60_000; // complaints are not pushed; overdue ones appear as time passes

function isManager(me) {
  return me.role === 'supervisor' || me.role === 'admin';
}

function bySoonestDue(a, b) {
  return a.due_at.localeCompare(b.due_at) || a.id - b.id;
}

/** One tab's complaints: 待处理 is the open ones and the assigned ones together. */
async function fetchTab(tab) {
  const get = (query) => api(`/api/v1/complaints?limit=${PAGE_SIZE}&${query}`);
  if (tab === 'overdue') return get('overdue=true');
  if (tab === 'resolved') return get('state=resolved');
  const [open, assigned] = await Promise.all([get('state=open'), get('state=assigned')]);
  return { items: [...open.items, ...assigned.items].sort(bySoonestDue), total: open.total + assigned.total };
}

/** Provider names by id, for saying whom a complaint is about. */
function useProviders(onError) {
  const [providers, setProviders] = useState([]);
  useEffect(() => {
    api('/api/v1/providers?limit=500').then((page) => setProviders(page.items), onError);
  }, []);
  return providers;
}

function targetText(complaint, providerNames, t) {
  if (complaint.target !== 'provider' || complaint.provider_id == null) return t(`complaint_target.${complaint.target}`);
  return providerNames.get(complaint.provider_id) || t('provider_n', { id: complaint.provider_id });
}

function excerpt(text) {
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}

// ---------------------------------------------------------------- the list

function ComplaintRow({ complaint, providerNames, selected, t, onSelect }) {
  return html`
    <tr class=${`complaint-row ${complaint.overdue ? 'overdue' : ''} ${selected ? 'selected' : ''}`} data-testid="complaint-row"
        data-complaint-id=${complaint.id} data-state=${complaint.state} ...${pickable(() => onSelect(complaint.id))}>
      <td>#${complaint.id}</td>
      <td><span class=${`kind-badge kind-${complaint.kind}`}>${t(`complaint_kind.${complaint.kind}`)}</span></td>
      <td class="target" data-testid="complaint-target">${targetText(complaint, providerNames, t)}</td>
      <td class="excerpt" title=${complaint.text} translate=${false}>${excerpt(complaint.text)}</td>
      <td data-testid="complaint-assignee" translate=${!complaint.assigned_name}>${complaint.assigned_name || t('unassigned')}</td>
      <td class=${`due ${complaint.overdue ? 'overdue-tag' : ''}`}>
        ${complaint.state === 'resolved' ? formatTime(complaint.resolved_at) : formatTime(complaint.due_at)}
        ${complaint.overdue && html` <span data-testid="complaint-overdue">${t('overdue')}</span>`}
      </td>
    </tr>`;
}

function ComplaintTabs({ tab, t, onChange }) {
  return html`
    <div class="tabs" role="tablist">
      ${TABS.map((name) => html`
        <button key=${name} role="tab" aria-selected=${tab === name} class=${tab === name ? 'tab active' : 'tab'}
          data-testid=${`complaints-tab-${name}`} onClick=${() => onChange(name)}>${t(`complaint_tab.${name}`)}</button>`)}
    </div>`;
}

// ---------------------------------------------------------------- the new-complaint form

function ComplaintForm({ providers, prefill, t, onError, onCreated, onClose }) {
  const [target, setTarget] = useState('provider');
  const [busy, setBusy] = useState(false);
  const [elder, setElder] = useState(prefill.elder_id ? { id: prefill.elder_id, name: prefill.elder_name || `#${prefill.elder_id}` } : null);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = {
      kind: form.get('kind'),
      source: form.get('source'),
      target,
      text: form.get('text').trim(),
      complainant_name: form.get('complainant_name').trim(),
    };
    if (target === 'provider') body.provider_id = Number(form.get('provider_id'));
    if (form.get('complainant_phone').trim()) body.complainant_phone = form.get('complainant_phone').trim();
    if (elder) body.elder_id = elder.id;
    for (const link of ['call_id', 'order_id']) if (form.get(link)) body[link] = Number(form.get(link));
    setBusy(true);
    try {
      onCreated(await api('/api/v1/complaints', { method: 'POST', body }));
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  const choice = (name, values, group, label) => html`
    <label>${t(label)}
      <select name=${name} data-testid=${`complaint-${name}`}>
        ${values.map((v) => html`<option key=${v} value=${v} selected=${prefill[name] === v}>${t(`${group}.${v}`)}</option>`)}
      </select>
    </label>`;
  return html`
    <form class="complaint-form" data-testid="complaint-form" aria-label=${t('complaint_form')} onSubmit=${submit}>
      <h3>${t('complaint_form')}</h3>
      <div class="form-row">
        ${choice('kind', KINDS, 'complaint_kind', 'kind')}
        ${choice('source', SOURCES, 'complaint_source', 'source_label')}
        <label>${t('target')}
          <select name="target" data-testid="complaint-target-select" value=${target} onChange=${(e) => setTarget(e.target.value)}>
            ${TARGETS.map((v) => html`<option key=${v} value=${v}>${t(`complaint_target.${v}`)}</option>`)}
          </select>
        </label>
        ${target === 'provider' && html`
          <label>${t('col.provider')}
            <select name="provider_id" data-testid="complaint-provider" required>
              <option value="">${t('pick_provider')}</option>
              ${providers.map((p) => html`<option key=${p.id} value=${String(p.id)}>${p.name}</option>`)}
            </select>
          </label>`}
      </div>
      <label class="wide">${t('complaint_text')}
        <textarea name="text" data-testid="complaint-text-input" required maxlength="4000"></textarea></label>
      <div class="form-row complaint-links">
        <div><span class="label">${t('complaint_elder')}</span> <${ElderPicker} elder=${elder} t=${t} onError=${onError} onPick=${setElder} /></div>
        <label>${t('complaint_call')}<input name="call_id" type="number" min="1" data-testid="complaint-call" defaultValue=${prefill.call_id || ''} /></label>
        <label>${t('complaint_order')}<input name="order_id" type="number" min="1" data-testid="complaint-order" defaultValue=${prefill.order_id || ''} /></label>
      </div>
      <div class="form-row">
        <label>${t('complainant_name')}<input name="complainant_name" data-testid="complainant-name" maxlength="64" defaultValue=${prefill.complainant_name || ''} /></label>
        <label>${t('complainant_phone')}<input name="complainant_phone" data-testid="complainant-phone" type="tel" maxlength="32" defaultValue=${prefill.complainant_phone || ''} /></label>
      </div>
      <div class="form-actions">
        <button type="submit" class="primary" data-testid="complaint-submit" disabled=${busy}>${t('submit')}</button>
        <button type="button" onClick=${onClose}>${t('back')}</button>
      </div>
    </form>`;
}

// ---------------------------------------------------------------- one complaint

function Notes({ notes, t }) {
  return html`
    <section aria-label=${t('investigation')}>
      <h3>${t('investigation')}</h3>
      ${notes.length === 0 && html`<p class="empty">${t('no_notes')}</p>`}
      <ol class="timeline complaint-notes" data-testid="complaint-notes">
        ${notes.map((n, i) => html`
          <li key=${i}><time>${formatTime(n.at)}</time><span class="entry-who" translate=${false}>${n.by}</span><span class="entry-text" translate=${false}>${n.text}</span></li>`)}
      </ol>
    </section>`;
}

function NoteForm({ complaint, t, onError, onSaved }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    try {
      onSaved(await api(`/api/v1/complaints/${complaint.id}/notes`, { method: 'POST', body: { text: text.trim() } }), t('note_added'));
      setText('');
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="note-form" onSubmit=${submit}>
      <textarea data-testid="complaint-note-input" aria-label=${t('add_note')} placeholder=${t('note_placeholder')}
        value=${text} onInput=${(e) => setText(e.target.value)} maxlength="4000"></textarea>
      <button type="submit" data-testid="complaint-note-submit" disabled=${busy || !text.trim()}>${t('add_note')}</button>
    </form>`;
}

function ResolveForm({ complaint, t, onError, onSaved }) {
  const [resolution, setResolution] = useState('');
  const [upheld, setUpheld] = useState(false);
  const [informedHow, setInformedHow] = useState('phone');
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const body = { resolution: resolution.trim(), upheld, informed_how: informedHow };
      const resolved = await api(`/api/v1/complaints/${complaint.id}/resolve`, { method: 'POST', body });
      onSaved(resolved, t('complaint_resolved', { id: complaint.id }));
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="resolve-form" data-testid="complaint-resolve-form" aria-label=${t('resolve_complaint')} onSubmit=${submit}>
      <h3>${t('resolve_complaint')}</h3>
      <label class="wide">${t('resolution')}
        <textarea data-testid="complaint-resolution" value=${resolution} onInput=${(e) => setResolution(e.target.value)}
          required maxlength="4000"></textarea></label>
      <div class="form-row">
        <label><input type="checkbox" data-testid="complaint-upheld" checked=${upheld} onChange=${(e) => setUpheld(e.target.checked)} />
          ${t('upheld')}</label>
        <label>${t('informed_how')}
          <select data-testid="complaint-informed-how" value=${informedHow} onChange=${(e) => setInformedHow(e.target.value)}>
            ${INFORMED_HOW.map((v) => html`<option key=${v} value=${v}>${t(`informed.${v}`)}</option>`)}
          </select>
        </label>
      </div>
      <button type="submit" class="primary" data-testid="complaint-resolve-submit" disabled=${busy || !resolution.trim()}>
        ${t('resolve_complaint')}</button>
    </form>`;
}

function Outcome({ complaint, t }) {
  return html`
    <dl class="facts outcome" data-testid="complaint-outcome">
      <dt>${t('resolution')}</dt><dd>${complaint.resolution}</dd>
      <dt>${t('upheld')}</dt><dd>${complaint.upheld ? t('upheld_yes') : t('upheld_no')}</dd>
      <dt>${t('informed_how')}</dt><dd>${t(`informed.${complaint.informed_how}`)} ${formatTime(complaint.informed_at)}</dd>
      <dt>${t('resolved_at')}</dt><dd>${formatTime(complaint.resolved_at)}</dd>
    </dl>`;
}

function ComplaintFacts({ complaint, providerNames, t }) {
  const complainant = [complaint.complainant_name, complaint.complainant_phone].filter(Boolean).join(' ');
  return html`
    <dl class="facts">
      <dt>${t('col.state')}</dt><dd data-testid="complaint-state">${t(`complaint_state.${complaint.state}`)}</dd>
      <dt>${t('target')}</dt><dd>${targetText(complaint, providerNames, t)}</dd>
      <dt>${t('source_label')}</dt><dd>${t(`complaint_source.${complaint.source}`)}</dd>
      <dt>${t('complainant')}</dt><dd>${complainant || t('anonymous')}</dd>
      <dt>${t('assignee')}</dt><dd translate=${!complaint.assigned_name}>${complaint.assigned_name || t('unassigned')}</dd>
      <dt>${t('due')}</dt><dd class=${complaint.overdue ? 'overdue-tag' : ''}>${formatTime(complaint.due_at)}
        ${complaint.overdue ? ` ${t('overdue')}` : ''}</dd>
      <dt>${t('created')}</dt><dd>${formatTime(complaint.created_at)} · ${complaint.created_by}</dd>
    </dl>`;
}

function ComplaintDetail({ complaintId, me, providerNames, t, onError, onSaved, onClose }) {
  const [complaint, setComplaint] = useState(null);
  useEffect(() => {
    api(`/api/v1/complaints/${complaintId}`).then(setComplaint, onError);
  }, [complaintId]);
  if (!complaint) return html`<aside class="complaint-detail card"></aside>`;
  const saved = (changed, message) => {
    setComplaint(changed);
    onSaved(changed, message);
  };
  const open = complaint.state !== 'resolved';
  const mayNote = isManager(me) || complaint.assigned_to === me.id;
  return html`
    <aside class="complaint-detail card" data-testid="complaint-detail" data-complaint-id=${complaint.id}>
      <header class="detail-title">
        <h2>#${complaint.id} ${t(`complaint_kind.${complaint.kind}`)} · ${targetText(complaint, providerNames, t)}</h2>
        <button class="link" aria-label=${t('close_detail')} onClick=${onClose}>×</button>
      </header>
      <p class="complaint-text" data-testid="complaint-full-text" translate=${false}>${complaint.text}</p>
      <${ComplaintFacts} complaint=${complaint} providerNames=${providerNames} t=${t} />
      <${Notes} notes=${complaint.notes} t=${t} />
      ${open && mayNote && html`<${NoteForm} complaint=${complaint} t=${t} onError=${onError} onSaved=${saved} />`}
      ${open && isManager(me) && html`<${ResolveForm} complaint=${complaint} t=${t} onError=${onError} onSaved=${saved} />`}
      ${!open && html`<${Outcome} complaint=${complaint} t=${t} />`}
    </aside>`;
}

// ---------------------------------------------------------------- the view

export function ComplaintsView({ me, topics, intent, t, onError, onInfo }) {
  const [tab, setTab] = useState('pending');
  const [page, setPage] = useState({ items: [], total: 0 });
  const [selectedId, setSelectedId] = useState(null);
  const [creating, setCreating] = useState(false);
  const [reloads, setReloads] = useState(0);
  const providers = useProviders(onError);
  const providerNames = new Map(providers.map((p) => [p.id, p.name]));
  const reload = () => setReloads((n) => n + 1);
  useEffect(() => {
    fetchTab(tab).then(setPage, onError);
  }, [tab, reloads]);
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  useTopic(topics, 'resync', reload);
  // The phone panel asks for a complaint taken on this call: the form opens with the caller filled in.
  // A search hit or the elder page opens one complaint (openId).
  useEffect(() => {
    if (intent?.openId) setSelectedId(intent.openId);
    else if (intent) setCreating(true);
  }, [intent?.at]);

  const created = (complaint) => {
    setCreating(false);
    setTab('pending');
    reload();
    setSelectedId(complaint.id);
    onInfo(t('complaint_created', { id: complaint.id }));
  };
  const saved = (complaint, message) => {
    setPage((p) => ({ ...p, items: p.items.map((c) => (c.id === complaint.id ? complaint : c)) }));
    if (complaint.state === 'resolved') reload();
    onInfo(message);
  };

  return html`
    <section class="desk-view complaints-view" aria-label=${t('complaints_title')}>
      <div class="board card">
        <div class="board-head">
          <h2>${t('complaints_title')} <span class="count" data-testid="complaints-count">${page.total}</span></h2>
          <button class="primary" data-testid="new-complaint" onClick=${() => setCreating(true)}>${t('new_complaint')}</button>
        </div>
        <div class="board-filters"><${ComplaintTabs} tab=${tab} t=${t} onChange=${setTab} /></div>
        ${creating && html`<${ComplaintForm} key=${intent?.at || 0} providers=${providers} prefill=${intent?.prefill || {}} t=${t} onError=${onError} onCreated=${created}
          onClose=${() => setCreating(false)} />`}
        <table class="orders-table" data-testid="complaints-list">
          <thead><tr>
            <th>#</th><th>${t('kind')}</th><th>${t('target')}</th><th>${t('complaint_text')}</th>
            <th>${t('assignee')}</th><th>${tab === 'resolved' ? t('resolved_at') : t('due')}</th>
          </tr></thead>
          <tbody>
            ${page.items.map((c) => html`<${ComplaintRow} key=${c.id} complaint=${c} providerNames=${providerNames}
              selected=${c.id === selectedId} t=${t} onSelect=${setSelectedId} />`)}
          </tbody>
        </table>
        ${page.items.length === 0 && html`<p class="empty">${t('no_complaints')}</p>`}
      </div>
      ${selectedId === null
        ? html`<aside class="complaint-detail card empty">${t('select_complaint')}</aside>`
        : html`<${ComplaintDetail} key=${selectedId} complaintId=${selectedId} me=${me} providerNames=${providerNames}
                 t=${t} onError=${onError} onSaved=${saved} onClose=${() => setSelectedId(null)} />`}
    </section>`;
}
