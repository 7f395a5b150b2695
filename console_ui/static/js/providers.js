// The providers view (服务商): status, rating and review flag of each provider; one provider's admission
// checklist, qualifications (its own, edited by supervisors, and its staff's), price list and staff, and for supervisors its quality figures, the admission checks and the
// status changes (admit, suspend, resume, exit); a coverage tab (覆盖) shows the district minimums.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { pickable } from './pickable.js';
import { api, ApiError } from './api.js';
import { CoverageView } from './coverage.js';
import { dictionary, errorText, formatTime } from './i18n.js';
import { useDebounced } from './live.js';
import { PhoneNumber } from './phone.js';

const STATUSES = ['pending', 'active', 'suspended', 'exited'];
const TABS = ['list', 'coverage'];
// The status changes the server allows from each status, as [action, status it leads to].
const STATUS_ACTIONS = {
  pending: [['activate', 'active'], ['exit', 'exited']],
  active: [['suspend', 'suspended'], ['exit', 'exited']],
  suspended: [['activate', 'active'], ['exit', 'exited']],
  exited: [],
};

function isManager(me) {
  return me.role === 'supervisor' || me.role === 'admin';
}

function criteria() {
  return Object.keys(dictionary('en').admission_criterion);
}

function percent(rate) {
  return rate == null ? '—' : `${Math.round(rate * 100)}%`;
}

function Rating({ provider, t }) {
  return html`<span class="rating">
    <strong data-testid="provider-rating">${provider.rating_count ? Number(provider.rating).toFixed(1) : '—'}</strong>
    <span class="muted rating-count" data-testid="provider-rating-count">${t('rating_count', { n: provider.rating_count })}</span>
  </span>`;
}

function ProviderRow({ provider, selected, t, onSelect }) {
  return html`
    <tr class=${`provider-row status-${provider.status} ${selected ? 'selected' : ''}`} data-testid="provider-row"
        data-provider-id=${provider.id} ...${pickable(() => onSelect(provider.id))}>
      <td class="provider-name" translate=${false}>${provider.name}</td>
      <td translate=${false}>${provider.district}</td>
      <td><span class=${`status-badge status-${provider.status}`}>${t(`provider_status.${provider.status}`)}</span></td>
      <td><${Rating} provider=${provider} t=${t} /></td>
      <td>${provider.review_flag && html`<span class="review-flag" data-testid="review-flag" title=${provider.review_flag}>⚑ ${t('review_flag')}</span>`}</td>
    </tr>`;
}

function markOf(entry) {
  return !entry ? 'not_checked' : entry.met ? 'met' : 'not_met';
}

function AdmissionEntry({ criterion, entry, t }) {
  const mark = markOf(entry);
  return html`
    <span class="check-mark">${mark === 'met' ? '✓' : mark === 'not_met' ? '✗' : '?'}</span>
    <span class="criterion">${t(`admission_criterion.${criterion}`)}</span>
    <span class="muted">${t(mark)}${entry?.evidence ? ` · ${entry.evidence}` : ''}${entry?.checked_by ? ` · ${t('checked_by')} ${entry.checked_by} ${formatTime(entry.checked_at)}` : ''}</span>`;
}

/** A supervisor's finding on one criterion: met or not, and the evidence seen; saved at once. */
function AdmissionForm({ provider, criterion, entry, t, onError, onSaved }) {
  const [met, setMet] = useState(entry?.met ?? false);
  const [evidence, setEvidence] = useState(entry?.evidence ?? '');
  const [busy, setBusy] = useState(false);
  const save = async (event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const body = { met, evidence: evidence.trim() };
      onSaved(await api(`/api/v1/providers/${provider.id}/admission/${criterion}`, { method: 'PUT', body }));
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="admission-form" onSubmit=${save}>
      <label><input type="checkbox" data-testid="admission-met" checked=${met} onChange=${(e) => setMet(e.target.checked)} /> ${t('met')}</label>
      <input data-testid="admission-evidence" aria-label=${t('evidence')} placeholder=${t('evidence_placeholder')} maxlength="2000"
        value=${evidence} onInput=${(e) => setEvidence(e.target.value)} />
      <button type="submit" class="small" data-testid="admission-save" disabled=${busy}>${t('record')}</button>
    </form>`;
}

function MissingCriteria({ missing, t }) {
  if (!missing?.length) return html`<p class="ok" data-testid="admission-complete">${t('admission_complete')}</p>`;
  return html`
    <p class="warn" data-testid="admission-missing">${t('admission_missing_list', {
      n: missing.length, names: missing.map((c) => t(`admission_criterion.${c}`)).join(t('list_sep')) })}</p>`;
}

function Admission({ provider, editable, t, onError, onSaved }) {
  const record = provider.admission || {};
  return html`
    <section aria-label=${t('admission')}>
      <h3>${t('admission')}</h3>
      <${MissingCriteria} missing=${provider.admission_missing} t=${t} />
      <ul class=${`checklist ${editable ? 'editable' : ''}`} data-testid="admission">
        ${criteria().map((c) => {
          const entry = record[c];
          const mark = markOf(entry);
          return html`<li key=${c} class=${`check-${mark}`} data-testid="admission-row" data-criterion=${c} data-met=${String(mark === 'met')}>
            <${AdmissionEntry} criterion=${c} entry=${entry} t=${t} />
            ${editable && html`<${AdmissionForm} key=${entry?.checked_at || 'new'} provider=${provider} criterion=${c} entry=${entry}
              t=${t} onError=${onError} onSaved=${onSaved} />`}
          </li>`;
        })}
      </ul>
    </section>`;
}

/** The criteria a refused activation names (the error's detail.missing). */
function missingFromError(err) {
  const known = new Set(criteria());
  return (err.detail?.missing || []).filter((c) => known.has(c));
}

function StatusError({ error, t }) {
  if (!error) return null;
  return html`
    <div class="status-error error" role="alert" data-testid="provider-status-error">
      ${error.missing?.length
        ? html`${t('admission_refused')}<ul>${error.missing.map((c) => html`<li key=${c}>${t(`admission_criterion.${c}`)}</li>`)}</ul>`
        : `${t('error')}: ${errorText(error.cause, t)}`}
    </div>`;
}

/** 准入 when a pending provider is activated, 恢复 when a suspended one is. */
function actionLabel(status, action) {
  if (action !== 'activate') return action;
  return status === 'pending' ? 'admit' : 'resume';
}

/** Admit, suspend, resume or exit: each asks for the reason before it is sent. */
function StatusActions({ provider, t, onChanged }) {
  const [action, setAction] = useState(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const choices = STATUS_ACTIONS[provider.status] || [];
  if (!choices.length) return null;
  const choose = (name) => {
    setAction(action === name ? null : name);
    setError(null);
  };
  const submit = async (event) => {
    event.preventDefault();
    const status = choices.find(([name]) => name === action)[1];
    setBusy(true);
    try {
      const changed = await api(`/api/v1/providers/${provider.id}/status`, { method: 'POST', body: { status, reason: reason.trim() } });
      setAction(null);
      setReason('');
      setError(null);
      onChanged(changed);
    } catch (err) {
      const missing = err instanceof ApiError && err.status === 409 ? missingFromError(err) : [];
      setError({ cause: err, missing });
    } finally {
      setBusy(false);
    }
  };
  return html`
    <section class="status-actions" data-testid="provider-actions" aria-label=${t('status_actions')}>
      <div class="action-buttons">
        ${choices.map(([name]) => html`<button key=${name} class=${`${name === 'activate' ? 'primary' : 'danger'} ${action === name ? 'chosen' : ''}`}
          aria-pressed=${action === name} data-testid=${`provider-action-${name}`} onClick=${() => choose(name)}>
          ${t(`provider_action.${actionLabel(provider.status, name)}`)}</button>`)}
      </div>
      ${action && html`
        <form class="status-form" onSubmit=${submit}>
          <input data-testid="provider-status-reason" aria-label=${t('status_reason_input')} placeholder=${t('status_reason_input')}
            maxlength="1000" value=${reason} onInput=${(e) => setReason(e.target.value)} />
          <button type="submit" class="primary" data-testid="provider-status-submit" disabled=${busy || !reason.trim()}>${t('confirm')}</button>
          <button type="button" onClick=${() => choose(null)}>${t('cancel')}</button>
        </form>`}
      <${StatusError} error=${error} t=${t} />
    </section>`;
}

function CoverageWarnings({ warnings, t }) {
  if (!warnings?.length) return null;
  return html`
    <div class="coverage-warning" role="alert" data-testid="provider-coverage-warning">
      <strong>${t('coverage_warning_title')}</strong>
      <ul>${warnings.map((w) => html`<li key=${`${w.district}|${w.service_type}`}>${t('alert_text.coverage', {
        ...w, district: w.district || t('no_district'), service: t(`service.${w.service_type}`) })}</li>`)}</ul>
    </div>`;
}

function PriceList({ items, t }) {
  if (!items?.length) return null;
  return html`
    <section aria-label=${t('price_list')}>
      <h3>${t('price_list')}</h3>
      <table class="price-list"><tbody>
        ${items.map((p, i) => html`<tr key=${i}>
          <td>${t(`service.${p.service_type}`)}</td><td>${p.item}</td><td>¥${(p.price_cents / 100).toFixed(2)} / ${p.unit}</td></tr>`)}
      </tbody></table>
    </section>`;
}

function Staff({ staff, t }) {
  if (!staff?.length) return null;
  return html`
    <section aria-label=${t('staff')}>
      <h3>${t('staff')} <span class="count">${staff.length}</span></h3>
      <ul class="staff">
        ${staff.map((s) => html`<li key=${s.id} class=${s.active ? '' : 'muted'}>
          <strong translate=${false}>${s.name}</strong> <${PhoneNumber} number=${s.phone} t=${t} /> ${s.qualifications.length ? html`· ${s.qualifications.map((q, i) => html`${i ? t('list_separator') : ''}<${QualificationName} name=${q} t=${t} />`)}` : ''}
          ${s.active ? '' : ` · ${t('inactive_staff')}`}</li>`)}
      </ul>
    </section>`;
}

// Certificates the matching knows by name (dispatch/matching/qualifications.py): level 3+ nursing and bathing
// need the elder-care worker's certificate, held by the provider or an active member of its staff.
const CARE_CERTIFICATE = '养老护理员证';
const KNOWN_QUALIFICATIONS = { [CARE_CERTIFICATE]: 'care_worker' };
const MAX_QUALIFICATIONS = 20;

/** A qualification as recorded (its Chinese name, which matching compares): data, left as it is, except one
 * the console knows, which English names and follows with the name as recorded. */
function QualificationName({ name, t }) {
  const known = KNOWN_QUALIFICATIONS[name];
  if (!known) return html`<span translate=${false}>${name}</span>`;
  if (t('content_lang') === 'zh') return t(`known_qualification.${known}`);
  return html`${t(`known_qualification.${known}`)} (<span lang="zh-CN" translate=${false}>${name}</span>)`;
}

function QualificationList({ names, t, testid }) {
  return html`<ul class="qualifications" data-testid=${testid}>
    ${names.map((name) => html`<li key=${name} data-qualification=${name}><${QualificationName} name=${name} t=${t} /></li>`)}
  </ul>`;
}

/** The provider's own licences and certificates, edited as a list and saved at once (PATCH). */
function QualificationsForm({ provider, t, onError, onSaved, onCancel }) {
  const [names, setNames] = useState(provider.qualifications);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const adding = typed.trim();
  const canAdd = adding && !names.includes(adding) && names.length < MAX_QUALIFICATIONS;
  const add = () => {
    if (!canAdd) return;
    setNames([...names, adding]);
    setTyped('');
  };
  const save = async (event) => {
    event.preventDefault();
    setBusy(true);
    try {
      onSaved(await api(`/api/v1/providers/${provider.id}`, { method: 'PATCH', body: { qualifications: names } }));
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="qualifications-form" data-testid="qualifications-form" onSubmit=${save}>
      <ul class="qualifications">
        ${names.map((name) => html`<li key=${name} data-qualification=${name}><${QualificationName} name=${name} t=${t} />
          <button type="button" class="link" data-testid="qualification-remove" aria-label=${t('remove_qualification', { name })}
            onClick=${() => setNames(names.filter((n) => n !== name))}>×</button></li>`)}
      </ul>
      <input list="known-qualifications" data-testid="qualification-input" aria-label=${t('qualification_input')}
        placeholder=${t('qualification_input')} maxlength="100" value=${typed} onInput=${(e) => setTyped(e.target.value)}
        onKeyDown=${(e) => { if (e.key === 'Enter') { e.preventDefault(); add(); } }} />
      <datalist id="known-qualifications">
        ${Object.entries(KNOWN_QUALIFICATIONS).map(([name, known]) => html`<option key=${name} value=${name}>${t(`known_qualification.${known}`)}</option>`)}
      </datalist>
      <button type="button" class="small" data-testid="qualification-add" disabled=${!canAdd} onClick=${add}>${t('add_qualification')}</button>
      <div class="form-actions">
        <button type="submit" class="primary" data-testid="qualifications-save" disabled=${busy}>${t('save')}</button>
        <button type="button" onClick=${onCancel}>${t('cancel')}</button>
      </div>
    </form>`;
}

/** What the provider holds itself and through its active staff, and so whether it may give level 3+ care. */
function Qualifications({ provider, editable, t, onError, onSaved }) {
  const [editing, setEditing] = useState(false);
  const own = provider.qualifications;
  const viaStaff = [...new Set(provider.staff.filter((s) => s.active).flatMap((s) => s.qualifications))]
    .filter((name) => name && !own.includes(name));
  const careOk = own.includes(CARE_CERTIFICATE) || viaStaff.includes(CARE_CERTIFICATE);
  return html`
    <section aria-label=${t('qualifications')} data-testid="provider-qualifications-section">
      <h3>${t('qualifications')}
        ${editable && !editing && html` <button type="button" class="small" data-testid="qualifications-edit" onClick=${() => setEditing(true)}>${t('edit_qualifications')}</button>`}</h3>
      ${editing
        ? html`<${QualificationsForm} provider=${provider} t=${t} onError=${onError} onCancel=${() => setEditing(false)}
            onSaved=${(next) => { setEditing(false); onSaved(next); }} />`
        : own.length
          ? html`<${QualificationList} names=${own} t=${t} testid="provider-qualifications" />`
          : html`<p class="empty" data-testid="provider-qualifications">${t('no_qualifications')}</p>`}
      ${viaStaff.length > 0 && html`<p class="muted">${t('staff_qualifications')}</p><${QualificationList} names=${viaStaff} t=${t} testid="staff-qualifications" />`}
      <p class=${careOk ? 'ok' : 'muted'} data-testid="hands-on-care" data-ok=${String(careOk)}>${t(careOk ? 'hands_on_care_ok' : 'hands_on_care_missing')}</p>
    </section>`;
}

function Quality({ quality, t }) {
  const figures = quality?.figures;
  return html`
    <section aria-label=${t('quality')} data-testid="provider-quality">
      <h3>${t('quality')}</h3>
      ${!figures ? html`<p class="empty">${t('no_quality')}</p>` : html`
        <dl class="facts quality">
          <dt>${t('acceptance_rate')}</dt><dd>${percent(figures.acceptance_rate)}</dd>
          <dt>${t('completion_rate')}</dt><dd>${percent(figures.completion_rate)}</dd>
          <dt>${t('late_rate')}</dt><dd>${percent(figures.late_rate)}</dd>
          <dt>${t('avg_satisfaction')}</dt><dd>${figures.satisfaction == null ? '—' : Number(figures.satisfaction).toFixed(1)}</dd>
          <dt>${t('upheld_complaints')}</dt><dd>${figures.upheld_complaints ?? 0}</dd>
          ${quality.flags?.length ? html`<dt>${t('quality_flags')}</dt><dd class="warn">${quality.flags.join('、')}</dd>` : ''}
        </dl>`}
    </section>`;
}

function ProviderFacts({ provider, t }) {
  return html`
    <dl class="facts">
      <dt>${t('rating')}</dt><dd><${Rating} provider=${provider} t=${t} /></dd>
      ${provider.review_flag && html`<dt>${t('review_flag')}</dt><dd class="warn">${provider.review_flag} ${formatTime(provider.flagged_at)}</dd>`}
      ${provider.status_reason && html`<dt>${t('status_reason')}</dt><dd data-testid="provider-status-reason-shown">${provider.status_reason}</dd>`}
      <dt>${t('phone')}</dt><dd><${PhoneNumber} number=${provider.phone} t=${t} /></dd>
      <dt>${t('contact_person')}</dt><dd>${provider.contact_person || '—'}</dd>
      <dt>${t('address')}</dt><dd translate=${false}>${provider.district} ${provider.address}</dd>
      <dt>${t('service_type')}</dt><dd>${provider.service_types.map((s) => t(`service.${s}`)).join('、')}</dd>
      <dt>${t('capacity')}</dt><dd>${provider.capacity}</dd>
    </dl>`;
}

function ProviderDetail({ providerId, me, quality, t, onError, onChanged }) {
  const [provider, setProvider] = useState(null);
  const [warnings, setWarnings] = useState([]);
  useEffect(() => {
    api(`/api/v1/providers/${providerId}`).then(setProvider, onError);
  }, [providerId]);
  if (!provider) return html`<aside class="provider-detail card"></aside>`;
  const manager = isManager(me);
  const changed = (next) => {
    setProvider(next);
    setWarnings(next.coverage_warnings || []);
    onChanged(next);
  };
  return html`
    <aside class="provider-detail card" data-testid="provider-detail" data-provider-id=${provider.id} data-status=${provider.status}>
      <h2><span translate=${false}>${provider.name}</span> <span class=${`status-badge status-${provider.status}`} data-testid="provider-status">${t(`provider_status.${provider.status}`)}</span></h2>
      <${CoverageWarnings} warnings=${warnings} t=${t} />
      ${manager && html`<${StatusActions} key=${provider.updated_at} provider=${provider} t=${t} onChanged=${changed} />`}
      <${ProviderFacts} provider=${provider} t=${t} />
      ${quality !== undefined && html`<${Quality} quality=${quality} t=${t} />`}
      <${Admission} provider=${provider} editable=${manager && provider.status !== 'exited'} t=${t} onError=${onError} onSaved=${(next) => { setProvider(next); onChanged(next); }} />
      <${Qualifications} key=${provider.updated_at} provider=${provider} editable=${manager && provider.status !== 'exited'} t=${t}
        onError=${onError} onSaved=${changed} />
      <${PriceList} items=${provider.price_list} t=${t} />
      <${Staff} staff=${provider.staff} t=${t} />
    </aside>`;
}

/** Quality figures by provider id, for supervisors and admins; null for agents (the endpoint says 403). */
function useQuality(me, onError) {
  const [byProvider, setByProvider] = useState(null);
  useEffect(() => {
    if (me.role === 'agent') return;
    api('/api/v1/quality/providers')
      .then((page) => setByProvider(new Map(page.items.map((q) => [q.provider_id, q]))))
      .catch(onError);
  }, [me.role]);
  return byProvider;
}

function ProviderTabs({ tab, t, onChange }) {
  return html`
    <div class="tabs" role="tablist">
      ${TABS.map((name) => html`
        <button key=${name} role="tab" aria-selected=${tab === name} class=${tab === name ? 'tab active' : 'tab'}
          data-testid=${name === 'coverage' ? 'coverage-tab' : 'providers-tab-list'} onClick=${() => onChange(name)}>${t(`providers_tab.${name}`)}</button>`)}
    </div>`;
}

function ProviderList({ page, selectedId, t, onSelect }) {
  return html`
    <table class="orders-table" data-testid="providers-list">
      <thead><tr><th>${t('col.provider')}</th><th>${t('district')}</th><th>${t('col.state')}</th><th>${t('rating')}</th><th>${t('col.flags')}</th></tr></thead>
      <tbody>
        ${page.items.map((p) => html`<${ProviderRow} key=${p.id} provider=${p} selected=${p.id === selectedId} t=${t} onSelect=${onSelect} />`)}
      </tbody>
    </table>
    ${page.items.length === 0 && html`<p class="empty">${t('no_providers')}</p>`}`;
}

export function ProvidersView({ me, t, onError }) {
  const [tab, setTab] = useState('list');
  const [query, setQuery] = useState('');
  const [status, setStatus] = useState('');
  const [page, setPage] = useState({ items: [], total: 0 });
  const [selectedId, setSelectedId] = useState(null);
  const [revision, setRevision] = useState(0); // bumped by every change made in the detail
  const settled = useDebounced(query.trim());
  const quality = useQuality(me, onError);
  useEffect(() => {
    const params = new URLSearchParams({ limit: '500' });
    if (settled) params.set('q', settled);
    if (status) params.set('status', status);
    api(`/api/v1/providers?${params}`).then(setPage, onError);
  }, [settled, status, revision]);
  const qualityOf = (id) => (quality ? quality.get(id) || null : undefined);

  return html`
    <section class="desk-view providers-view" aria-label=${t('providers_title')}>
      <div class="board card">
        <div class="board-head">
          <h2>${tab === 'coverage' ? t('coverage_title') : html`${t('providers_title')} <span class="count">${page.total}</span>`}</h2>
          <${ProviderTabs} tab=${tab} t=${t} onChange=${setTab} />
          ${tab === 'list' && html`
            <input type="search" aria-label=${t('search_providers')} placeholder=${t('search_providers')} value=${query}
              onInput=${(e) => setQuery(e.target.value)} />
            <select aria-label=${t('all_statuses')} value=${status} onChange=${(e) => setStatus(e.target.value)}>
              <option value="">${t('all_statuses')}</option>
              ${STATUSES.map((s) => html`<option key=${s} value=${s}>${t(`provider_status.${s}`)}</option>`)}
            </select>`}
        </div>
        ${tab === 'coverage'
          ? html`<${CoverageView} revision=${revision} t=${t} onError=${onError} />`
          : html`<${ProviderList} page=${page} selectedId=${selectedId} t=${t} onSelect=${setSelectedId} />`}
      </div>
      ${selectedId === null
        ? html`<aside class="provider-detail card empty">${t('select_provider')}</aside>`
        : html`<${ProviderDetail} key=${selectedId} providerId=${selectedId} me=${me} quality=${qualityOf(selectedId)} t=${t}
                 onError=${onError} onChanged=${() => setRevision((n) => n + 1)} />`}
    </section>`;
}
