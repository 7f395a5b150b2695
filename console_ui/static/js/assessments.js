// Needs and ability assessments (能力评估): the applications board with each step's deadline (overdue in
// red), one assessment with what its step and the operator's role allow, the application form (also opened
// from a call), and the assessors' form: the GB/T 42195-2022 items on a tablet, kept as a draft on the
// device and saved to the server as it is filled in, so a dropped connection loses nothing.

import { html, useEffect, useRef, useState } from '../vendor/htm/preact/standalone.module.js';
import { api, ApiError } from './api.js';
import { ElderPicker } from './elderpicker.js';
import { errorText, formatTime } from './i18n.js';
import { Pager } from './pager.js';
import { pickable } from './pickable.js';

const STEPS = ['incomplete', 'accepted', 'verified', 'organised', 'assessed', 'public_notice', 'refusal_notice', 'final', 'withdrawn'];
const OPEN_STEPS = new Set(STEPS.filter((s) => s !== 'final' && s !== 'withdrawn'));
const MATERIALS = { standard: ['application_form', 'identity_documents'], simplified: ['application_form', 'identity_documents', 'proof_of_situation'] };
const APPLICANTS = ['elder', 'family', 'community'];
const PROCEDURES = ['standard', 'simplified'];
const FLAGS = ['coma', 'dementia', 'mental_disorder'];
const LIVING = ['alone_without_family', 'alone', 'with_spouse', 'with_children', 'with_relatives_or_friends'];
const CARERS = ['nobody', 'spouse', 'children', 'other_relative', 'paid_carer', 'neighbour_or_volunteer'];
const ECONOMIC = ['subsistence_allowance', 'extreme_poverty', 'low_income', 'ordinary'];
const PAGE_SIZE = 50;
const SAVE_AFTER_MS = 600;
const RETRY_MS = 5000;

const isManager = (me) => me.role === 'supervisor' || me.role === 'admin';
/** The instrument's own wording ({zh, en}) in the console's language. */
const own = (text, t) => text[t('content_lang')] || text.zh;
const yuan = (fen) => (fen / 100).toFixed(2);

// ---------------------------------------------------------------- the board (staff)

function AssessmentRow({ row, selected, t, onSelect }) {
  return html`
    <tr class=${`assessment-row ${row.overdue ? 'overdue' : ''} ${selected ? 'selected' : ''}`} data-testid="assessment-row"
        data-assessment-id=${row.id} data-state=${row.state} ...${pickable(() => onSelect(row.id))}>
      <td>#${row.id}</td>
      <td translate=${false}>${row.elder_name}</td>
      <td>${t(`assessment_procedure.${row.procedure}`)}</td>
      <td data-testid="assessment-state">${t(`assessment_step.${row.state}`)}</td>
      <td class=${`due ${row.overdue ? 'overdue-tag' : ''}`} data-testid="assessment-due">
        ${row.due_on || '—'}${row.due_provisional ? ' *' : ''}${row.overdue ? html` <span>${t('overdue')}</span>` : ''}
      </td>
      <td data-testid="assessment-level">${row.level === null ? '—' : t(`ability_level.${row.level}`)}</td>
    </tr>`;
}

export function AssessmentsView({ me, intent, t, onError, onInfo }) {
  const [state, setState] = useState('');
  const [overdueOnly, setOverdueOnly] = useState(false);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState({ items: [], total: 0 });
  const [selectedId, setSelectedId] = useState(null);
  const [pinned, setPinned] = useState(null); // the row an action just returned (it may be on another page)
  const [elder, setElder] = useState(null); // {id, name}: one elder's assessments only (from the elder page)
  const [applying, setApplying] = useState(null); // the application form's prefill, or null
  const reload = async () => {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset) });
    if (state) query.set('state', state);
    if (overdueOnly) query.set('overdue', 'true');
    if (elder) query.set('elder_id', String(elder.id));
    try {
      setPage(await api(`/api/v1/assessments?${query}`));
    } catch (err) {
      onError(err);
    }
  };
  useEffect(() => { reload(); }, [state, overdueOnly, offset, elder?.id]);
  // A call asks for an application (prefill); the elder page opens one assessment (openId, elderId).
  useEffect(() => {
    if (intent?.openId) {
      setElder(intent.elderId ? { id: intent.elderId } : null);
      setSelectedId(intent.openId);
    } else if (intent) setApplying(intent.prefill || {});
  }, [intent?.at]);
  const changed = (row, message) => {
    reload();
    if (row) {
      setPinned(row);
      setSelectedId(row.id);
    }
    if (message) onInfo(message);
  };
  const selected = page.items.find((row) => row.id === selectedId) || (pinned?.id === selectedId ? pinned : null);
  return html`
    <section class="desk-view assessments-view" aria-label=${t('assessments_title')}>
      <div class="board card">
        <div class="board-head">
          <h2>${t('assessments_title')} <span class="count" data-testid="assessments-count">${page.total}</span></h2>
          <button class="primary" data-testid="new-assessment" onClick=${() => setApplying({})}>${t('new_assessment')}</button>
        </div>
        <div class="board-filters">
          <label>${t('assessment_state_filter')}
            <select data-testid="assessment-filter" value=${state} onChange=${(e) => { setOffset(0); setState(e.target.value); }}>
              <option value="">${t('all')}</option>
              ${STEPS.map((s) => html`<option key=${s} value=${s}>${t(`assessment_step.${s}`)}</option>`)}
            </select>
          </label>
          <label class="inline"><input type="checkbox" checked=${overdueOnly} data-testid="assessment-overdue-only"
            onChange=${(e) => { setOffset(0); setOverdueOnly(e.target.checked); }} /> ${t('overdue_only')}</label>
          ${elder && html`<button type="button" class="small" data-testid="assessment-elder-filter" onClick=${() => setElder(null)}>${t('one_elder_only')} ×</button>`}
        </div>
        ${applying && html`<${ApplicationForm} prefill=${applying} t=${t} onError=${onError} onClose=${() => setApplying(null)}
          onCreated=${(row) => { setApplying(null); changed(row, t('assessment_created', { id: row.id })); }}
          onOpen=${(id, elderId) => { setApplying(null); setOffset(0); setElder({ id: elderId }); setSelectedId(id); }} />`}
        <table class="orders-table" data-testid="assessments-list">
          <thead><tr>
            <th>#</th><th>${t('col_elder')}</th><th>${t('assessment_procedure_label')}</th><th>${t('col_state')}</th>
            <th>${t('due')}</th><th>${t('ability_level_label')}</th>
          </tr></thead>
          <tbody>${page.items.map((row) => html`<${AssessmentRow} key=${row.id} row=${row} selected=${row.id === selectedId} t=${t} onSelect=${setSelectedId} />`)}</tbody>
        </table>
        ${page.items.length === 0 && html`<p class="empty">${t('no_assessments')}</p>`}
        <${Pager} offset=${offset} size=${PAGE_SIZE} total=${page.total} t=${t} onOffset=${setOffset} testid="assessments-pager" />
      </div>
      ${selected === null
        ? html`<aside class="assessment-detail card empty">${t('select_assessment')}</aside>`
        : html`<${AssessmentDetail} key=${`${selected.id}-${selected.updated_at}`} row=${selected} me=${me} t=${t} onError=${onError} onChanged=${changed}
                 onClose=${() => setSelectedId(null)} />`}
    </section>`;
}

// ---------------------------------------------------------------- an application

/** The elder has an open assessment already (409 assessment_open): say so, and offer to open that one. */
function AlreadyOpen({ refusal, t, onOpen }) {
  if (!refusal) return null;
  return html`
    <div class="error" role="alert" data-testid="assessment-already-open">
      <p>${errorText(refusal.error, t)}</p>
      <button type="button" class="primary" data-testid="open-existing-assessment"
        onClick=${() => onOpen(refusal.error.params.assessment_id, refusal.elderId)}>${t('open_assessment_n', { id: refusal.error.params.assessment_id })}</button>
    </div>`;
}

function ApplicationForm({ prefill, t, onError, onCreated, onClose, onOpen }) {
  const [elder, setElder] = useState(prefill.elder_id ? { id: prefill.elder_id, name: prefill.elder_name || `#${prefill.elder_id}` } : null);
  const [procedure, setProcedure] = useState('standard');
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState(null); // {error, elderId}: the elder's open assessment, named by the 409
  const submit = async (event) => {
    event.preventDefault();
    if (!elder) return onError(new ApiError(422, { code: 'validation_error', reason: 'pick_elder' }));
    const form = new FormData(event.target);
    const body = {
      elder_id: elder.id,
      procedure,
      applicant: form.get('applicant'),
      applicant_name: form.get('applicant_name').trim(),
      applicant_phone: form.get('applicant_phone').trim(),
      materials: MATERIALS[procedure].filter((m) => form.get(`material-${m}`)),
    };
    if (prefill.call_id) body.call_id = prefill.call_id;
    setBusy(true);
    setRefusal(null);
    try {
      return onCreated(await api('/api/v1/assessments', { method: 'POST', body }));
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'assessment_open') return setRefusal({ error: err, elderId: elder.id });
      return onError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="complaint-form" data-testid="assessment-form" aria-label=${t('new_assessment')} onSubmit=${submit}>
      <h3>${t('new_assessment')}${prefill.call_id ? html` <span class="muted">${t('from_call', { id: prefill.call_id })}</span>` : ''}</h3>
      <div><span class="label">${t('complaint_elder')}</span> <${ElderPicker} elder=${elder} t=${t} onError=${onError} onPick=${(picked) => { setRefusal(null); setElder(picked); }} /></div>
      <div class="form-row">
        <label>${t('assessment_procedure_label')}
          <select name="procedure" data-testid="assessment-procedure" value=${procedure} onChange=${(e) => setProcedure(e.target.value)}>
            ${PROCEDURES.map((p) => html`<option key=${p} value=${p}>${t(`assessment_procedure.${p}`)}</option>`)}
          </select>
        </label>
        <label>${t('applicant')}
          <select name="applicant" data-testid="assessment-applicant">
            ${APPLICANTS.map((a) => html`<option key=${a} value=${a}>${t(`applicant_kind.${a}`)}</option>`)}
          </select>
        </label>
      </div>
      <div class="form-row">
        <label>${t('applicant_name')}<input name="applicant_name" maxlength="64" /></label>
        <label>${t('applicant_phone')}<input name="applicant_phone" maxlength="20" /></label>
      </div>
      <fieldset class="materials"><legend>${t('materials_handed_in')}</legend>
        ${MATERIALS[procedure].map((m) => html`<label key=${m} class="inline"><input type="checkbox" name=${`material-${m}`} data-testid=${`material-${m}`} /> ${t(`material.${m}`)}</label>`)}
      </fieldset>
      <${AlreadyOpen} refusal=${refusal} t=${t} onOpen=${onOpen} />
      <div class="form-actions">
        <button type="submit" class="primary" data-testid="assessment-submit" disabled=${busy}>${t('submit')}</button>
        <button type="button" onClick=${onClose}>${t('cancel')}</button>
      </div>
    </form>`;
}

// ---------------------------------------------------------------- one assessment (staff)

function AssessmentDetail({ row, me, t, onError, onChanged, onClose }) {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const manager = isManager(me);
  const act = async (work, message) => {
    setBusy(true);
    try {
      const result = await work();
      onChanged(result && result.id ? result : row, message);
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  const move = (to, extra = {}) => act(
    () => api(`/api/v1/assessments/${row.id}/transition`, { method: 'POST', body: { to, note, ...extra } }),
    t('assessment_moved', { id: row.id, step: t(`assessment_step.${to}`) }),
  );
  const button = (to, label, { primary = false, extra } = {}) => html`
    <button type="button" class=${primary ? 'primary' : ''} disabled=${busy} data-testid=${`assessment-to-${to}`} onClick=${() => move(to, extra)}>${t(label)}</button>`;
  const objection = () => act(() => api('/api/v1/assessments', {
    method: 'POST', body: { elder_id: row.elder_id, procedure: 'reassessment', reassessment_of: row.id },
  }), t('reassessment_created'));
  return html`
    <aside class="assessment-detail card" data-testid="assessment-detail" data-assessment-id=${row.id} aria-label=${t('assessment_n', { id: row.id })}>
      <div class="detail-title">
        <h2>${t('assessment_n', { id: row.id })} · <span translate=${false}>${row.elder_name}</span></h2>
        <button class="link" aria-label=${t('close')} onClick=${onClose}>×</button>
      </div>
      <dl class="facts">
        <dt>${t('col_state')}</dt><dd data-testid="detail-state">${t(`assessment_step.${row.state}`)}</dd>
        <dt>${t('assessment_procedure_label')}</dt><dd>${t(`assessment_procedure.${row.procedure}`)}</dd>
        <dt>${t('due')}</dt><dd class=${row.overdue ? 'overdue-tag' : ''}>${row.due_on || '—'}${row.due_provisional ? ` (${t('due_provisional')})` : ''}</dd>
        ${row.missing.length > 0 && html`<dt>${t('materials_missing')}</dt><dd data-testid="detail-missing">${row.missing.map((m) => t(`material.${m}`)).join(t('list_separator'))}</dd>`}
        ${row.level !== null && html`<dt>${t('ability_level_label')}</dt><dd data-testid="detail-level">${t(`ability_level.${row.level}`)}</dd>`}
        ${row.allowance_fen > 0 && html`<dt>${t('allowance')}</dt><dd>${t('yuan_a_month', { yuan: yuan(row.allowance_fen) })}</dd>`}
        <dt>${t('updated')}</dt><dd>${formatTime(row.updated_at)}</dd>
      </dl>
      ${OPEN_STEPS.has(row.state) && (manager || ['incomplete', 'assessed'].includes(row.state)) && html`
        <label class="wide">${t('assessment_note')}<textarea data-testid="assessment-note" value=${note} onInput=${(e) => setNote(e.target.value)}></textarea></label>`}
      <div class="form-actions">
        ${row.state === 'incomplete' && button('accepted', 'materials_complete', { primary: true, extra: { materials: row.missing } })}
        ${manager && row.state === 'accepted' && row.procedure === 'standard' && button('verified', 'mark_verified', { primary: true })}
        ${manager && row.state === 'verified' && button('organised', 'mark_organised', { primary: true })}
        ${manager && row.state === 'assessed' && button('public_notice', 'propose_subsidy', { primary: true })}
        ${manager && row.state === 'assessed' && button('refusal_notice', 'refuse_subsidy')}
        ${manager && ['public_notice', 'refusal_notice'].includes(row.state) && button('final', 'make_final', { primary: true })}
        ${OPEN_STEPS.has(row.state) && button('withdrawn', 'withdraw')}
        ${manager && ['assessed', 'public_notice', 'refusal_notice', 'final'].includes(row.state) && html`
          <a class="button" href=${`/api/v1/assessments/${row.id}/report.pdf`} target="_blank" rel="noopener" data-testid="assessment-report">${t('assessment_report')}</a>`}
        ${row.state === 'final' && row.procedure !== 'reassessment' && html`
          <button type="button" disabled=${busy} data-testid="assessment-object" onClick=${objection}>${t('object_reassess')}</button>`}
      </div>
      ${row.state === 'final' && html`<${ServicePlan} row=${row} t=${t} onError=${onError} onMade=${(n) => onChanged(row, t('plans_made', { n }))} />`}
    </aside>`;
}

function ServicePlan({ row, t, onError, onMade }) {
  const [proposal, setProposal] = useState(null);
  const [chosen, setChosen] = useState(new Set());
  useEffect(() => {
    api(`/api/v1/assessments/${row.id}/plan`).then((found) => {
      setProposal(found);
      setChosen(new Set(found.lines.map((line) => line.service_type)));
    }, onError);
  }, [row.id]);
  if (!proposal) return null;
  const toggle = (service) => setChosen((current) => {
    const next = new Set(current);
    if (next.has(service)) next.delete(service);
    else next.add(service);
    return next;
  });
  const make = async () => {
    const lines = proposal.lines.filter((line) => chosen.has(line.service_type))
      .map(({ service_type, weekdays, start_time, end_time }) => ({ service_type, weekdays, start_time, end_time }));
    try {
      const made = await api(`/api/v1/assessments/${row.id}/plan`, { method: 'POST', body: { lines } });
      onMade(made.length);
    } catch (err) {
      onError(err);
    }
  };
  return html`
    <section class="service-plan" data-testid="service-plan" aria-label=${t('service_plan')}>
      <h3>${t('service_plan')}</h3>
      ${proposal.lines.length === 0 && html`<p class="empty">${t('no_plan_needed')}</p>`}
      <ul>
        ${proposal.lines.map((line) => html`<li key=${line.service_type}>
          <label class="inline"><input type="checkbox" checked=${chosen.has(line.service_type)} onChange=${() => toggle(line.service_type)} />
            ${t(`service.${line.service_type}`)} · ${t('per_week', { n: line.per_week })} · ${line.start_time}–${line.end_time}
            ${line.recommended ? '' : html` <span class="muted">(${t('asked_for')})</span>`}</label></li>`)}
      </ul>
      ${proposal.lines.length > 0 && html`<button type="button" class="primary" data-testid="make-plans" disabled=${chosen.size === 0} onClick=${make}>${t('make_plans')}</button>`}
    </section>`;
}

// ---------------------------------------------------------------- the assessors' console

export function AssessorConsole({ me, t, onLanguage, onLogout }) {
  const [rows, setRows] = useState([]);
  const [openId, setOpenId] = useState(null);
  const [message, setMessage] = useState(null);
  const load = async () => {
    try {
      const [organised, simplified] = await Promise.all([
        api('/api/v1/assessments?state=organised&limit=200'),
        api('/api/v1/assessments?state=accepted&limit=200'),
      ]);
      setRows([...organised.items, ...simplified.items.filter((r) => r.procedure === 'simplified')]);
    } catch (err) {
      setMessage({ kind: 'error', text: errorText(err, t) });
    }
  };
  useEffect(() => { load(); }, []);
  const done = (text) => {
    setOpenId(null);
    setMessage({ kind: 'info', text });
    load();
  };
  return html`
    <div class="console assessor-console">
      <header class="topbar">
        <h1>${t('assessor_title')}</h1>
        <span class="spacer"></span>
        <button class="link" lang=${t('language_code')} onClick=${onLanguage}>${t('language')}</button>
        <span class="operator"><span translate=${false}>${me.display_name || me.username}</span> · ${t(`role.${me.role}`)}</span>
        <button class="link" onClick=${onLogout}>${t('logout')}</button>
      </header>
      ${message && html`<div class=${`toast toast-${message.kind}`} role="status" data-testid="assessor-message">${message.text}</div>`}
      <main class="assessor-main">
        ${openId === null
          ? html`<section class="card" aria-label=${t('to_assess')}>
              <h2>${t('to_assess')}</h2>
              ${rows.length === 0 && html`<p class="empty">${t('no_assessments')}</p>`}
              <ul class="assessor-list">
                ${rows.map((row) => html`<li key=${row.id}><button type="button" class="big" data-testid="assess-open" data-assessment-id=${row.id}
                  onClick=${() => { setMessage(null); setOpenId(row.id); }}>
                  #${row.id} <span translate=${false}>${row.elder_name}</span> · ${t('due')} ${row.due_on || '—'}${row.overdue ? ` · ${t('overdue')}` : ''}</button></li>`)}
              </ul>
            </section>`
          : html`<${AssessmentForm} key=${openId} id=${openId} t=${t} onDone=${done} onBack=${() => { setOpenId(null); load(); }} />`}
      </main>
    </div>`;
}

const draftKey = (id) => `assessment-draft-${id}`;

function readDraft(id) {
  try {
    return JSON.parse(localStorage.getItem(draftKey(id)) || 'null');
  } catch {
    return null;
  }
}

/** The form as it stands, kept on the device at every change and sent to the server soon after; a save
 * that cannot reach the server is tried again until it does. */
function useDraft(id) {
  const [form, setForm] = useState(null); // {answers, findings, needs}
  const [elderName, setElderName] = useState('');
  const [status, setStatus] = useState('loading'); // saved | saving | unsaved | offline | conflict | error
  const version = useRef(0);
  const dirty = useRef(false);
  const timer = useRef(null);
  const latest = useRef(null);

  const inFlight = useRef(null);
  const again = useRef(false);

  const send = async () => {
    if (!dirty.current || !latest.current) return true;
    const sending = latest.current;
    setStatus('saving');
    try {
      const saved = await api(`/api/v1/assessments/${id}/answers`, { method: 'PUT', body: { version: version.current, ...sending } });
      version.current = saved.version;
      if (latest.current === sending) {
        dirty.current = false;
        localStorage.removeItem(draftKey(id));
        setStatus('saved');
      } else {
        localStorage.setItem(draftKey(id), JSON.stringify({ baseVersion: version.current, ...latest.current }));
        again.current = true;
      }
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) setStatus('conflict');
      else if (err instanceof ApiError) setStatus('error');
      else {
        setStatus('offline');
        timer.current = setTimeout(save, RETRY_MS);
      }
      return false;
    }
  };
  // One save at a time: a save asked for while one is under way follows it (two at once would both send
  // the same version, and the second would be refused as stale).
  const save = () => {
    clearTimeout(timer.current);
    if (inFlight.current) {
      again.current = true;
      return inFlight.current;
    }
    inFlight.current = send().then((ok) => {
      inFlight.current = null;
      if (again.current && ok) {
        again.current = false;
        return save();
      }
      return ok;
    });
    return inFlight.current;
  };
  const change = (update) => {
    setForm((current) => {
      const next = update(current);
      latest.current = next;
      dirty.current = true;
      localStorage.setItem(draftKey(id), JSON.stringify({ baseVersion: version.current, ...next }));
      return next;
    });
    setStatus('unsaved');
    clearTimeout(timer.current);
    timer.current = setTimeout(save, SAVE_AFTER_MS);
  };
  useEffect(() => {
    let live = true;
    api(`/api/v1/assessments/${id}`).then((stored) => {
      if (!live) return;
      version.current = stored.version;
      setElderName(stored.elder_name);
      const draft = readDraft(id);
      const fromServer = { answers: stored.answers, findings: stored.findings, needs: stored.needs };
      const start = draft && draft.baseVersion === stored.version
        ? { answers: draft.answers, findings: draft.findings, needs: draft.needs }
        : fromServer;
      latest.current = start;
      setForm(start);
      if (start !== fromServer) {
        dirty.current = true;
        save();
      } else setStatus('saved');
    }, () => live && setStatus('error'));
    const online = () => dirty.current && save();
    window.addEventListener('online', online);
    return () => {
      live = false;
      clearTimeout(timer.current);
      window.removeEventListener('online', online);
    };
  }, [id]);
  return { form, elderName, status, change, save };
}

function AssessmentForm({ id, t, onDone, onBack }) {
  const [instrument, setInstrument] = useState(null);
  const [error, setError] = useState('');
  const draft = useDraft(id);
  useEffect(() => { api('/api/v1/assessment-instrument').then(setInstrument, (err) => setError(errorText(err, t))); }, []);
  if (!instrument || !draft.form) return html`<p class="muted">${error || t('loading')}</p>`;
  const { answers, findings = {}, needs = {} } = draft.form;
  const items = instrument.indicators.flatMap((indicator) => indicator.items);
  const answered = items.filter((item) => answers[item.code]).length;
  const answer = (code, option) => draft.change((f) => ({ ...f, answers: { ...f.answers, [code]: option } }));
  const flag = (name, on) => draft.change((f) => {
    const flags = new Set((f.findings || {}).flags || []);
    if (on) flags.add(name);
    else flags.delete(name);
    return { ...f, findings: { ...(f.findings || {}), flags: [...flags] } };
  });
  const riskEvents = (value) => draft.change((f) => ({ ...f, findings: { ...(f.findings || {}), counts: { risk_events_30d: Math.max(0, Number(value) || 0) } } }));
  const need = (field, value) => draft.change((f) => ({ ...f, needs: { ...(f.needs || {}), [field]: value || null } }));
  const sign = async () => {
    if (!(await draft.save())) return;
    try {
      const result = await api(`/api/v1/assessments/${id}/transition`, { method: 'POST', body: { to: 'assessed' } });
      onDone(result.state === 'assessed' ? t('assessment_complete', { id }) : t('first_signature', { id }));
    } catch (err) {
      setError(errorText(err, t));
    }
  };
  return html`
    <form class="assessment-sheet" data-testid="assessment-sheet" aria-label=${t('assessment_n', { id })} onSubmit=${(e) => { e.preventDefault(); sign(); }}>
      <div class="sheet-head">
        <button type="button" class="link" onClick=${onBack}>← ${t('back')}</button>
        <h2>${t('assessment_n', { id })} · <span translate=${false}>${draft.elderName}</span></h2>
        <span class="progress" data-testid="assessment-progress">${t('answered_of', { n: answered, total: items.length })}</span>
        <span class=${`save-status save-${draft.status}`} data-testid="save-status" data-status=${draft.status}>${t(`save_status.${draft.status}`)}</span>
      </div>
      ${instrument.indicators.map((indicator) => html`
        <section key=${indicator.code} class="indicator" aria-label=${own(indicator.name, t)}>
          <h3>${own(indicator.name, t)}</h3>
          ${indicator.items.map((item) => html`
            <fieldset key=${item.code} class="item" data-testid="assessment-item" data-item=${item.code}>
              <legend>${item.code} ${own(item.name, t)}</legend>
              ${item.definition && html`<p class="muted definition" lang="zh-CN" translate=${false}>${item.definition}</p>`}
              ${item.options.map((option) => html`
                <label key=${option.code} class=${`option ${answers[item.code] === option.code ? 'chosen' : ''}`}>
                  <input type="radio" name=${item.code} value=${option.code} checked=${answers[item.code] === option.code}
                    onChange=${() => answer(item.code, option.code)} />
                  <span class="score">${t('points', { n: option.score })}</span> <span>${own(option.label, t)}</span>
                </label>`)}
            </fieldset>`)}
        </section>`)}
      <section class="indicator" aria-label=${t('level_changes')}>
        <h3>${t('level_changes')}</h3>
        ${FLAGS.map((name) => html`<label key=${name} class="option"><input type="checkbox" data-testid=${`finding-${name}`}
          checked=${(findings.flags || []).includes(name)} onChange=${(e) => flag(name, e.target.checked)} /> ${t(`finding.${name}`)}</label>`)}
        <label class="option">${t('finding.risk_events_30d')}
          <input type="number" min="0" max="99" inputmode="numeric" data-testid="finding-risk-events"
            value=${(findings.counts || {}).risk_events_30d || 0} onInput=${(e) => riskEvents(e.target.value)} /></label>
      </section>
      <section class="indicator" aria-label=${t('needs')}>
        <h3>${t('needs')}</h3>
        ${[['living', LIVING], ['carer', CARERS], ['economic', ECONOMIC]].map(([field, values]) => html`
          <label key=${field} class="option">${t(`needs_field.${field}`)}
            <select data-testid=${`need-${field}`} value=${needs[field] || ''} onChange=${(e) => need(field, e.target.value)}>
              <option value="">—</option>
              ${values.map((v) => html`<option key=${v} value=${v}>${t(`needs_${field}.${v}`)}</option>`)}
            </select></label>`)}
      </section>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="form-actions sticky">
        <button type="submit" class="primary big" data-testid="assessment-sign" disabled=${answered < items.length}>${t('sign_assessment')}</button>
      </div>
    </form>`;
}
