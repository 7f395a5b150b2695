// Supervision and administration: agent quality (supervisors and admins); operators, the audit log and the
// settings (admins). The server decides who may do what; this view only hides what a role cannot use.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { api } from './api.js';
import { formatTime } from './i18n.js';
import { useDebounced } from './live.js';
import { Pager } from './pager.js';

const ROLES = ['agent', 'supervisor', 'admin', 'assessor'];
const AUDIT_PAGE = 50;

export function adminTabs(me) {
  return me.role === 'admin' ? ['operators', 'audit', 'quality', 'settings'] : ['quality'];
}

function percentOrDash(value, digits = 1) {
  return value == null ? '—' : value.toFixed(digits);
}

// ---------------------------------------------------------------- operators

function NewOperator({ t, onError, onCreated }) {
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = Object.fromEntries(['username', 'display_name', 'role', 'password'].map((k) => [k, form.get(k)]));
    try {
      onCreated(await api('/api/v1/operators', { method: 'POST', body }));
      event.target.reset();
    } catch (err) {
      onError(err);
    }
  };
  return html`
    <form class="inline-form new-operator" onSubmit=${submit} data-testid="new-operator">
      <input name="username" required pattern="[a-z0-9_.\\-]{3,64}" aria-label=${t('username')} placeholder=${t('username')} />
      <input name="display_name" required maxlength="64" aria-label=${t('display_name')} placeholder=${t('display_name')} />
      <select name="role" aria-label=${t('role_label')}>${ROLES.map((r) => html`<option key=${r} value=${r}>${t(`role.${r}`)}</option>`)}</select>
      <input name="password" type="password" required minlength="8" autocomplete="new-password" aria-label=${t('password')} placeholder=${t('password')} />
      <button type="submit" class="primary">${t('create_operator')}</button>
    </form>`;
}

function OperatorRow({ operator, me, t, onError, onChanged }) {
  const change = async (body) => {
    try {
      onChanged(await api(`/api/v1/operators/${operator.id}`, { method: 'PATCH', body }));
    } catch (err) {
      onError(err);
    }
  };
  const resetPassword = () => {
    const password = window.prompt(t('new_password_prompt', { name: operator.display_name }));
    if (password) change({ password });
  };
  const signOut = async () => {
    try {
      await api(`/api/v1/operators/${operator.id}/sign-out`, { method: 'POST' });
      onChanged({ ...operator, signed_in: false });
    } catch (err) {
      onError(err);
    }
  };
  const self = operator.id === me.id;
  return html`
    <tr data-testid="operator-row" data-username=${operator.username} class=${operator.active ? '' : 'inactive'}>
      <td translate=${false}>${operator.username}</td>
      <td translate=${false}>${operator.display_name}</td>
      <td><select aria-label=${t('role_label')} value=${operator.role} disabled=${self} onChange=${(e) => change({ role: e.target.value })}>
        ${ROLES.map((r) => html`<option key=${r} value=${r}>${t(`role.${r}`)}</option>`)}</select></td>
      <td data-testid="operator-online">${operator.signed_in ? t('online') : t('offline_now')}</td>
      <td>${operator.last_login_at ? formatTime(operator.last_login_at) : '—'}</td>
      <td class="row-actions">
        <button type="button" class="small" disabled=${self} data-testid="operator-active" onClick=${() => change({ active: !operator.active })}>
          ${operator.active ? t('deactivate') : t('reactivate')}</button>
        <button type="button" class="small" onClick=${resetPassword}>${t('reset_password')}</button>
        <button type="button" class="small" disabled=${!operator.signed_in || self} data-testid="operator-sign-out" onClick=${signOut}>${t('sign_out')}</button>
      </td>
    </tr>`;
}

function Operators({ me, t, onError, onInfo }) {
  const [operators, setOperators] = useState([]);
  useEffect(() => {
    api('/api/v1/operators?limit=500').then((page) => setOperators(page.items), onError);
  }, []);
  const replace = (changed) => setOperators((all) => all.map((o) => (o.id === changed.id ? { ...o, ...changed } : o)));
  const created = (operator) => {
    setOperators((all) => [...all, { ...operator, signed_in: false }]);
    onInfo(t('operator_created', { name: operator.display_name }));
  };
  return html`
    <div>
      <${NewOperator} t=${t} onError=${onError} onCreated=${created} />
      <table class="admin-table">
        <thead><tr>${['username', 'display_name', 'role_label', 'online_col', 'last_login', 'actions'].map((c) => html`<th key=${c}>${t(c)}</th>`)}</tr></thead>
        <tbody>${operators.map((o) => html`<${OperatorRow} key=${o.id} operator=${o} me=${me} t=${t} onError=${onError} onChanged=${replace} />`)}</tbody>
      </table>
    </div>`;
}

// ---------------------------------------------------------------- the audit log

function AuditLog({ t, onError }) {
  const [draft, setDraft] = useState({ username: '', action: '', entity_type: '' });
  const filter = useDebounced(draft, 300);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState({ items: [], total: 0 });
  useEffect(() => {
    const params = new URLSearchParams({ limit: String(AUDIT_PAGE), offset: String(offset) });
    for (const [key, value] of Object.entries(filter)) if (value.trim()) params.set(key, value.trim());
    api(`/api/v1/audit?${params}`).then(setPage, onError);
  }, [filter, offset]);
  const set = (key) => (event) => {
    setOffset(0);
    setDraft({ ...draft, [key]: event.target.value });
  };
  return html`
    <div>
      <div class="filters" role="group" aria-label=${t('audit_filters')}>
        <input aria-label=${t('username')} placeholder=${t('username')} value=${draft.username} onInput=${set('username')} data-testid="audit-username" />
        <input aria-label=${t('audit_action')} placeholder=${t('audit_action')} value=${draft.action} onInput=${set('action')} data-testid="audit-action" />
        <input aria-label=${t('audit_entity')} placeholder=${t('audit_entity')} value=${draft.entity_type} onInput=${set('entity_type')} />
        <span class="count" data-testid="audit-count">${page.total}</span>
      </div>
      <table class="admin-table audit-table">
        <thead><tr>${['audit_at', 'username', 'audit_action', 'audit_entity', 'audit_detail'].map((c) => html`<th key=${c}>${t(c)}</th>`)}</tr></thead>
        <tbody>
          ${page.items.map((e) => html`<tr key=${e.id} data-testid="audit-row">
            <td>${formatTime(e.at)}</td><td>${e.username}</td><td class="mono">${e.action}</td>
            <td class="mono">${e.entity_type}${e.entity_id ? ` #${e.entity_id}` : ''}</td>
            <td class="mono detail-json">${Object.keys(e.detail || {}).length ? JSON.stringify(e.detail) : ''}</td></tr>`)}
        </tbody>
      </table>
      <${Pager} offset=${offset} size=${AUDIT_PAGE} total=${page.total} t=${t} onOffset=${setOffset} testid="audit" />
    </div>`;
}

// ---------------------------------------------------------------- agent quality and settings

function AgentQuality({ t, onError }) {
  const [agents, setAgents] = useState([]);
  useEffect(() => {
    api('/api/v1/quality/agents').then((page) => setAgents(page.items), onError);
  }, []);
  const columns = ['calls_acknowledged', 'mean_seconds_to_acknowledge', 'follow_ups_completed', 'satisfaction', 'care_calls_completed', 'upheld_complaints'];
  return html`
    <table class="admin-table" data-testid="agent-quality">
      <thead><tr><th>${t('display_name')}</th>${columns.map((c) => html`<th key=${c}>${t(`agent_figure.${c}`)}</th>`)}</tr></thead>
      <tbody>
        ${agents.map((a) => html`<tr key=${a.operator_id} data-testid="agent-quality-row" data-username=${a.username}>
          <td translate=${false}>${a.display_name}</td>
          <td>${a.figures.calls_acknowledged}</td>
          <td>${percentOrDash(a.figures.mean_seconds_to_acknowledge)}</td>
          <td>${a.figures.follow_ups_completed}</td>
          <td>${percentOrDash(a.figures.satisfaction, 2)}</td>
          <td>${a.figures.care_calls_completed}</td>
          <td>${a.figures.upheld_complaints}</td>
        </tr>`)}
      </tbody>
    </table>`;
}

function SettingsList({ t, onError }) {
  const [items, setItems] = useState([]);
  useEffect(() => {
    api('/api/v1/settings').then((answer) => setItems(answer.items), onError);
  }, []);
  return html`
    <div>
      <p class="muted">${t('settings_read_only')}</p>
      <table class="admin-table settings-table" data-testid="settings-table">
        <tbody>${items.map((s) => html`<tr key=${s.name}><td class="mono">${s.name}</td><td class=${`mono ${s.secret ? 'secret' : ''}`}>${s.value || '—'}</td></tr>`)}</tbody>
      </table>
    </div>`;
}

export function AdminView({ me, t, onError, onInfo }) {
  const tabs = adminTabs(me);
  const [tab, setTab] = useState(tabs[0]);
  return html`
    <section class="admin-view card" aria-label=${t('views.admin')}>
      <div class="tabs" role="tablist">
        ${tabs.map((name) => html`<button key=${name} type="button" role="tab" aria-selected=${name === tab} data-testid=${`admin-tab-${name}`}
          class=${name === tab ? 'tab active' : 'tab'} onClick=${() => setTab(name)}>${t(`admin_tab.${name}`)}</button>`)}
      </div>
      ${tab === 'operators' ? html`<${Operators} me=${me} t=${t} onError=${onError} onInfo=${onInfo} />`
        : tab === 'audit' ? html`<${AuditLog} t=${t} onError=${onError} />`
        : tab === 'settings' ? html`<${SettingsList} t=${t} onError=${onError} />`
        : html`<${AgentQuality} t=${t} onError=${onError} />`}
    </section>`;
}
