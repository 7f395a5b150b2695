// 结算 Settlement (supervisors and admins): the month's provider statements (compute or redraft, approve,
// mark paid, the files to sign) and the bureau's subsidy claim per district; 对账 Reconciliation: the ledger's
// check and the days matched against the payment platform's bill; 待核查服务 Services to review: completed
// orders without the evidence that makes them payable (issue 17: reviewed, not paid), evidenced ones and
// flagged check-ins. The server does the sums; this view shows its fen in yuan and its refusals in the UI's
// language.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { api } from './api.js';
import { errorText, formatTime, formatWindow, previousMonth } from './i18n.js';
import { yuan } from './money.js';
import { Pager } from './pager.js';

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const MONTH_PATTERN = '\\d{4}-(0[1-9]|1[0-2])';
const DEFAULT_DISTRICT = '鼓楼区';
const DAYS_PAGE = 30;
const EVIDENCE_PAGE = 50;
const EVIDENCE_STATES = ['unevidenced', 'flagged', 'evidenced'];
const TABS = ['statements', 'reconciliation', 'evidence'];
const NUMERIC = new Set(['services', 'gross', 'subsidy', 'self_pay', 'refunds', 'quality_score', 'quality_deduction', 'complaints', 'net']);
// The figures summed in the totals row, in the table's order.
const SUMMED = ['services', 'gross_fen', 'subsidy_fen', 'self_pay_fen', 'refunds_fen', 'quality_deduction_fen', 'complaints_upheld', 'complaint_deduction_fen', 'net_fen'];

function totals(items) {
  return Object.fromEntries(SUMMED.map((key) => [key, items.reduce((sum, s) => sum + s[key], 0)]));
}

/** A refusal in the UI's language; a statement in the wrong state names the state it is in. */
function refusal(err, t) {
  if (err?.reason === 'settlement_state') return t('settlement_wrong_state', { state: t(`settlement_state.${err.params.state}`) });
  return errorText(err, t);
}

// ---------------------------------------------------------------- statements

function StatementActions({ statement, t, onMove }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const step = statement.state === 'draft' ? 'approve' : statement.state === 'approved' ? 'paid' : null;
  const move = async () => {
    setBusy(true);
    await onMove(statement, step);
    setBusy(false);
    setConfirming(false);
  };
  const files = html`
    <a class="button small" href=${`/api/v1/settlements/${statement.id}/statement.xlsx`} download data-testid="statement-xlsx">${t('settlement_xlsx')}</a>
    <a class="button small" href=${`/api/v1/settlements/${statement.id}/statement.pdf`} download data-testid="statement-pdf">${t('settlement_pdf')}</a>`;
  if (!step) return files;
  if (!confirming) {
    return html`<button type="button" class="small" data-testid=${`settlement-${step}`} onClick=${() => setConfirming(true)}>${t(`settlement_step.${step}`)}</button>${files}`;
  }
  return html`
    <span class="confirm-step" role="group" aria-label=${t(`settlement_confirm.${step}`, { net: yuan(statement.net_fen) })}>
      <span>${t(`settlement_confirm.${step}`, { net: yuan(statement.net_fen) })}</span>
      <button type="button" class="small primary" disabled=${busy} data-testid=${`settlement-${step}-confirm`} onClick=${move}>${t('confirm')}</button>
      <button type="button" class="small" disabled=${busy} onClick=${() => setConfirming(false)}>${t('back')}</button>
    </span>`;
}

function StatementRow({ statement: s, t, onMove }) {
  return html`
    <tr data-testid="settlement-row" data-provider-id=${s.provider_id} data-state=${s.state}>
      <td translate=${false}>${s.provider_name}</td>
      <td class="num">${s.services}</td>
      <td class="num">${yuan(s.gross_fen)}</td>
      <td class="num">${yuan(s.subsidy_fen)}</td>
      <td class="num">${yuan(s.self_pay_fen)}</td>
      <td class="num">${yuan(s.refunds_fen)}</td>
      <td class="num">${s.quality_score}</td>
      <td class="num">${s.quality_deduction_percent}% · ${yuan(s.quality_deduction_fen)}</td>
      <td class="num">${s.complaints_upheld} · ${yuan(s.complaint_deduction_fen)}</td>
      <td class="num net" data-testid="settlement-net">${yuan(s.net_fen)}</td>
      <td data-testid="settlement-state" title=${s.paid_at ? formatTime(s.paid_at) : s.approved_at ? formatTime(s.approved_at) : ''}>
        <span class=${`settlement-state settlement-${s.state}`}>${t(`settlement_state.${s.state}`)}</span></td>
      <td class="row-actions"><${StatementActions} statement=${s} t=${t} onMove=${onMove} /></td>
    </tr>`;
}

function Statements({ t, onInfo }) {
  const [draftMonth, setDraftMonth] = useState(previousMonth());
  const month = MONTH.test(draftMonth) ? draftMonth : null;
  const [items, setItems] = useState([]);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [district, setDistrict] = useState(DEFAULT_DISTRICT);
  useEffect(() => {
    setItems([]);
    if (!month) return undefined;
    setError('');
    let current = true; // a month typed over while its statements load: the answer for the old one is dropped
    api(`/api/v1/settlements?month=${month}`).then(
      (page) => current && setItems(page.items),
      (err) => current && setError(refusal(err, t)),
    );
    return () => {
      current = false;
    };
  }, [month]);
  const compute = async () => {
    setBusy(true);
    setError('');
    try {
      await api('/api/v1/settlements/compute', { method: 'POST', body: { month } });
      setItems((await api(`/api/v1/settlements?month=${month}`)).items);
      onInfo(t('settlement_computed', { month }));
    } catch (err) {
      setError(refusal(err, t));
    }
    setBusy(false);
  };
  const move = async (statement, step) => {
    setError('');
    try {
      const moved = await api(`/api/v1/settlements/${statement.id}/${step}`, { method: 'POST' });
      setItems((all) => all.map((s) => (s.id === moved.id ? moved : s)));
    } catch (err) {
      setError(refusal(err, t));
      api(`/api/v1/settlements?month=${statement.month}`).then((page) => setItems(page.items), () => null);
    }
  };
  const sum = totals(items);
  const columns = ['provider', 'services', 'gross', 'subsidy', 'self_pay', 'refunds', 'quality_score', 'quality_deduction', 'complaints', 'net', 'state', 'actions'];
  const claimHref = month && district.trim() ? `/api/v1/subsidy-claims/${month}.xlsx?district=${encodeURIComponent(district.trim())}` : null;
  return html`
    <div class="settlement-statements">
      <div class="filters" role="group" aria-label=${t('settlement_month')}>
        <label>${t('settlement_month')}
          <input class="month-input" value=${draftMonth} pattern=${MONTH_PATTERN} inputmode="numeric" maxlength="7" required
            placeholder=${t('month_placeholder')} aria-invalid=${!month} data-testid="settlement-month" onInput=${(e) => setDraftMonth(e.target.value)} /></label>
        <button type="button" class="primary" disabled=${!month || busy} data-testid="settlement-compute" onClick=${compute}>${t('settlement_compute')}</button>
        <span class="spacer"></span>
        <label>${t('claim_district')}
          <input class="district-input" value=${district} maxlength="32" data-testid="claim-district" onInput=${(e) => setDistrict(e.target.value)} /></label>
        ${claimHref
          ? html`<a class="button" href=${claimHref} download data-testid="claim-xlsx">${t('claim_xlsx')}</a>`
          : html`<span class="muted">${t('claim_xlsx')}</span>`}
      </div>
      ${!month && html`<p class="error" role="alert">${t('month_invalid')}</p>`}
      ${error && html`<p class="error" role="alert" data-testid="settlement-error">${error}</p>`}
      ${month && !items.length && !error && html`<p class="empty" data-testid="settlement-empty">${t('settlement_none', { month })}</p>`}
      ${items.length > 0 && html`
        <div class="table-scroll">
          <table class="admin-table settlement-table" data-testid="settlement-table">
            <thead><tr>${columns.map((c) => html`<th key=${c} scope="col" class=${NUMERIC.has(c) ? 'num' : ''}>${t(`settlement_col.${c}`)}</th>`)}</tr></thead>
            <tbody>${items.map((s) => html`<${StatementRow} key=${s.id} statement=${s} t=${t} onMove=${move} />`)}</tbody>
            <tfoot><tr data-testid="settlement-totals">
              <th scope="row">${t('settlement_total', { n: items.length })}</th>
              <td class="num">${sum.services}</td>
              <td class="num">${yuan(sum.gross_fen)}</td>
              <td class="num">${yuan(sum.subsidy_fen)}</td>
              <td class="num">${yuan(sum.self_pay_fen)}</td>
              <td class="num">${yuan(sum.refunds_fen)}</td>
              <td></td>
              <td class="num">${yuan(sum.quality_deduction_fen)}</td>
              <td class="num">${sum.complaints_upheld} · ${yuan(sum.complaint_deduction_fen)}</td>
              <td class="num net" data-testid="settlement-total-net">${yuan(sum.net_fen)}</td>
              <td></td><td></td>
            </tr></tfoot>
          </table>
        </div>`}
    </div>`;
}

// ---------------------------------------------------------------- reconciliation

function LedgerCheck({ t, onError }) {
  const [check, setCheck] = useState(null);
  const run = () => api('/api/v1/ledger/check').then(setCheck, onError);
  useEffect(() => {
    run();
  }, []);
  if (!check) return null;
  return html`
    <section class="ledger-check" aria-label=${t('ledger_check')} data-testid="ledger-check" data-balanced=${String(check.balanced)}>
      <h3>${t('ledger_check')} <button type="button" class="small" onClick=${run}>${t('ledger_check_again')}</button></h3>
      <p class=${check.balanced ? 'ok' : 'error'}>${check.balanced ? t('ledger_balanced') : t('ledger_unbalanced')}
        <span class="muted"> · ${t('ledger_counts', { transactions: check.transactions, entries: check.entries, accounts: check.accounts })}</span></p>
      ${!check.balanced && html`
        <ul class="ledger-problems error">
          ${check.unbalanced_txn_ids.length > 0 && html`<li>${t('ledger_unbalanced_txns')} <span class="mono" translate=${false}>${check.unbalanced_txn_ids.join(', ')}</span></li>`}
          ${check.mismatched_accounts.length > 0 && html`<li>${t('ledger_mismatched_accounts')} <span class="mono" translate=${false}>${check.mismatched_accounts.map((m) => m.account).join(', ')}</span></li>`}
          ${check.below_floor.length > 0 && html`<li>${t('ledger_below_floor')} <span class="mono" translate=${false}>${check.below_floor.join(', ')}</span></li>`}
        </ul>`}
    </section>`;
}

function ReconciliationDay({ day, t }) {
  const [open, setOpen] = useState(false);
  const count = day.mismatches.length;
  return html`
    <tr data-testid="reconciliation-row" data-day=${day.day} class=${count ? 'has-mismatches' : ''}>
      <td>${day.day}</td>
      <td>${t(`channel.${day.platform}`)}</td>
      <td class="num">${day.lines}</td>
      <td class=${`num ${count ? 'error' : ''}`} data-testid="reconciliation-mismatches">${count}</td>
      <td>${formatTime(day.checked_at)}</td>
      <td>${count > 0 && html`<button type="button" class="small" aria-expanded=${open} data-testid="reconciliation-expand"
        onClick=${() => setOpen(!open)}>${open ? t('reconciliation_hide') : t('reconciliation_show')}</button>`}</td>
    </tr>
    ${open && html`
      <tr class="mismatch-detail"><td colspan="6">
        <table class="admin-table mismatch-table" data-testid="mismatch-table">
          <thead><tr>${['kind', 'number', 'platform', 'ledger'].map((c) => html`<th key=${c} scope="col" class=${['platform', 'ledger'].includes(c) ? 'num' : ''}>${t(`mismatch_col.${c}`)}</th>`)}</tr></thead>
          <tbody>${day.mismatches.map((m) => html`<tr key=${`${m.kind}-${m.number}`} data-testid="mismatch-row">
            <td>${t(`mismatch_kind.${m.kind}`)}</td><td class="mono" translate=${false}>${m.number}</td>
            <td class="num">${m.platform_fen == null ? t('mismatch_absent') : yuan(m.platform_fen)}</td>
            <td class="num">${m.ledger_fen == null ? t('mismatch_absent') : yuan(m.ledger_fen)}</td></tr>`)}</tbody>
        </table>
      </td></tr>`}`;
}

function Reconciliation({ t, onError }) {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState({ items: [], total: 0 });
  useEffect(() => {
    api(`/api/v1/reconciliations?limit=${DAYS_PAGE}&offset=${offset}`).then(setPage, onError);
  }, [offset]);
  const columns = ['day', 'platform', 'lines', 'mismatches', 'checked_at', 'detail'];
  return html`
    <div class="reconciliation">
      <${LedgerCheck} t=${t} onError=${onError} />
      <h3>${t('reconciliation_days')}</h3>
      ${page.total === 0
        ? html`<p class="empty" data-testid="reconciliation-empty">${t('reconciliation_none')}</p>`
        : html`<table class="admin-table reconciliation-table" data-testid="reconciliation-table">
            <thead><tr>${columns.map((c) => html`<th key=${c} scope="col" class=${['lines', 'mismatches'].includes(c) ? 'num' : ''}>${t(`reconciliation_col.${c}`)}</th>`)}</tr></thead>
            <tbody>${page.items.map((day) => html`<${ReconciliationDay} key=${`${day.day}-${day.platform}`} day=${day} t=${t} />`)}</tbody>
          </table>`}
      <${Pager} offset=${offset} size=${DAYS_PAGE} total=${page.total} t=${t} onOffset=${setOffset} testid="reconciliation" />
    </div>`;
}

// ---------------------------------------------------------------- services to review

function CheckinFlag({ evidence: e, t }) {
  if (!e.checkin_flag) return e.checkin_at ? t('checkin_ok') : '—';
  const text = e.checkin_flag === 'far' ? t('checkin_flag.far', { m: e.checkin_distance_m }) : t('checkin_flag.no_position');
  return html`<span class="checkin-flag" data-testid="evidence-flag" data-flag=${e.checkin_flag}>${text}</span>`;
}

function EvidenceRow({ evidence: e, t, onOpen }) {
  return html`
    <tr data-testid="evidence-row" data-order-id=${e.order_id}>
      <td><button type="button" class="link mono" data-testid="evidence-order" aria-label=${t('evidence_open_order', { id: e.order_id })}
        onClick=${() => onOpen({ kind: 'order', id: e.order_id })}>#${e.order_id}</button></td>
      <td>${t(`service.${e.service_type}`)}</td>
      <td class="window">${formatWindow(e.window_start, e.window_end)}</td>
      <td translate=${false}>${e.elder_name}</td>
      <td translate=${false}>${e.provider_name || '—'}</td>
      <td data-testid="evidence-missing">${e.missing.length
        ? html`<ul class="evidence-missing">${e.missing.map((m) => html`<li key=${m} data-testid="evidence-missing-item" data-part=${m}>${t(`evidence_missing.${m}`)}</li>`)}</ul>`
        : '—'}</td>
      <td><${CheckinFlag} evidence=${e} t=${t} /></td>
      <td>${e.photo
        ? html`<a href=${`/api/v1/service-evidence/${e.order_id}/photo`} target="_blank" rel="noopener" data-testid="evidence-photo"
            aria-label=${t('evidence_photo_of', { id: e.order_id })}>${t('evidence_photo')}</a>`
        : '—'}</td>
    </tr>`;
}

function ServicesToReview({ t, onError, onOpen }) {
  const [state, setState] = useState('unevidenced');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState(null);
  useEffect(() => {
    let current = true; // a filter changed while a page loads: the answer for the old one is dropped
    api(`/api/v1/service-evidence?${new URLSearchParams({ state, limit: String(EVIDENCE_PAGE), offset: String(offset) })}`).then(
      (answer) => current && setPage(answer),
      (err) => current && onError(err),
    );
    return () => {
      current = false;
    };
  }, [state, offset]);
  const choose = (value) => {
    setState(value);
    setOffset(0);
    setPage(null);
  };
  const columns = ['order', 'service', 'window', 'elder', 'provider', 'missing', 'checkin', 'photo'];
  return html`
    <div class="services-to-review">
      <div class="filters">
        <label>${t('evidence_state_label')}
          <select value=${state} data-testid="evidence-state" onChange=${(e) => choose(e.target.value)}>
            ${EVIDENCE_STATES.map((s) => html`<option key=${s} value=${s}>${t(`evidence_state.${s}`)}</option>`)}
          </select></label>
        ${page && html`<span class="muted" data-testid="evidence-total">${t('evidence_total', { n: page.total })}</span>`}
      </div>
      <p class="muted">${t(`evidence_hint.${state}`)}</p>
      ${page && page.total === 0 && html`<p class="empty" data-testid="evidence-empty">${t(`evidence_none.${state}`)}</p>`}
      ${page && page.items.length > 0 && html`
        <div class="table-scroll">
          <table class="admin-table evidence-table" data-testid="evidence-table">
            <thead><tr>${columns.map((c) => html`<th key=${c} scope="col">${t(`evidence_col.${c}`)}</th>`)}</tr></thead>
            <tbody>${page.items.map((e) => html`<${EvidenceRow} key=${e.order_id} evidence=${e} t=${t} onOpen=${onOpen} />`)}</tbody>
          </table>
        </div>`}
      ${page && html`<${Pager} offset=${offset} size=${EVIDENCE_PAGE} total=${page.total} t=${t} onOffset=${setOffset} testid="evidence" />`}
    </div>`;
}

export function SettlementView({ t, onError, onInfo, onOpen }) {
  const [tab, setTab] = useState('statements');
  return html`
    <section class="settlement-view card" aria-label=${t('views.settlement')}>
      <div class="tabs" role="tablist">
        ${TABS.map((name) => html`<button key=${name} type="button" role="tab" aria-selected=${name === tab}
          data-testid=${`settlement-tab-${name}`} class=${name === tab ? 'tab active' : 'tab'} onClick=${() => setTab(name)}>${t(`settlement_tab.${name}`)}</button>`)}
      </div>
      ${tab === 'statements'
        ? html`<${Statements} t=${t} onInfo=${onInfo} />`
        : tab === 'reconciliation'
        ? html`<${Reconciliation} t=${t} onError=${onError} />`
        : html`<${ServicesToReview} t=${t} onError=${onError} onOpen=${onOpen} />`}
    </section>`;
}
