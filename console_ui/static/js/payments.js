// Money on the order and the elder page: what an order's self-pay still asks, payments taken at the desk
// (cash, bank transfer) or online (a WeChat Pay QR code), refunds typed in yuan, the elder's allowance this
// month and prepaid money with its cap, and the hint on the order form. Amounts are the server's integer fen.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import qrcode from '../vendor/qrcode-generator/qrcode.mjs';
import { api } from './api.js';
import { errorText, formatTime } from './i18n.js';
import { fenFromYuan, yuan, yuanDigits, YUAN_PATTERN } from './money.js';
import { Pager } from './pager.js';

const METHODS = ['cash', 'bank_transfer', 'wechat'];
const HELD_STATES = new Set(['pending', 'paid']); // what counts against an order's self-pay, as the server counts
const NOT_CARRIED_OUT = new Set(['cancelled', 'failed']);
const ELDER_PAGE = 10;
const POLL_MS = 5000; // while an online payment waits for the family

/** The elder's allowance this month and prepaid money (GET /elders/{id}/allowance), reloaded on `version`. */
function useAllowance(elderId, version, onProblem) {
  const [allowance, setAllowance] = useState(null);
  useEffect(() => {
    let current = true;
    api(`/api/v1/elders/${elderId}/allowance`).then((a) => current && setAllowance(a), onProblem);
    return () => { current = false; };
  }, [elderId, version]);
  return allowance;
}

/** Reload every few seconds while a payment waits for the platform (the family scanning the code). */
function usePolling(active, reload) {
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(reload, POLL_MS);
    return () => clearInterval(timer);
  }, [active]);
}

/** What the elder's allowance comes from: a subsidy category or an assessed ability level. */
function entitledText(entitledBy, t) {
  const [kind, value] = entitledBy.split(':');
  if (kind === 'category') return t(`subsidy.${value}`);
  if (kind === 'level') return `${t('ability_level_label')} ${t(`ability_level.${value}`)}`;
  return t('no_allowance');
}

// ---------------------------------------------------------------- one payment and its refund

function QrCode({ text, label }) {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const size = qr.getModuleCount();
  let path = '';
  for (let row = 0; row < size; row += 1) {
    for (let col = 0; col < size; col += 1) if (qr.isDark(row, col)) path += `M${col + 4} ${row + 4}h1v1h-1z`;
  }
  return html`<svg class="qr-code" data-testid="payment-qr" data-modules=${size} viewBox=${`0 0 ${size + 8} ${size + 8}`}
    width="168" height="168" role="img" aria-label=${label} shape-rendering="crispEdges">
    <rect width=${size + 8} height=${size + 8} fill="#fff" /><path d=${path} fill="#000" /></svg>`;
}

/** An online payment waiting for the family: its QR code (and the link it holds), or why there is none yet. */
function Waiting({ payment, t }) {
  if (!payment.code_url) return html`<p class="muted" data-testid="payment-no-qr">${t('qr_missing')}</p>`;
  return html`
    <div class="payment-qr">
      <${QrCode} text=${payment.code_url} label=${t('qr_label', { amount: yuan(payment.amount_fen) })} />
      <p class="muted">${t('qr_hint')}${payment.expires_at ? ` ${t('qr_until', { time: formatTime(payment.expires_at) })}` : ''}</p>
      <p class="mono qr-link" translate=${false}>${payment.code_url}</p>
    </div>`;
}

function RefundForm({ payment, t, onInfo, onDone, onClose }) {
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const refundable = payment.amount_fen - payment.refunded_fen;
  const submit = async (event) => {
    event.preventDefault();
    const fen = fenFromYuan(amount);
    if (!fen) return setProblem(t('amount_invalid'));
    if (!reason.trim()) return setProblem(t('refund_reason_required'));
    setProblem('');
    setBusy(true);
    try {
      const refund = await api(`/api/v1/payments/${payment.id}/refunds`, { method: 'POST', body: { amount_fen: fen, reason: reason.trim() } });
      onInfo(t(refund.state === 'succeeded' ? 'refund_done' : 'refund_asked', { amount: yuan(refund.amount_fen) }));
      onDone();
    } catch (err) {
      setProblem(errorText(err, t));
    } finally {
      setBusy(false);
    }
    return undefined;
  };
  return html`
    <form class="refund-form" data-testid="refund-form" aria-label=${t('refund_form')} onSubmit=${submit} noValidate>
      <label>${t('refund_amount')}
        <input type="text" inputmode="decimal" size="9" data-testid="refund-amount" pattern=${YUAN_PATTERN} required
          placeholder=${yuanDigits(refundable)} value=${amount} onInput=${(e) => setAmount(e.target.value)} /></label>
      <label>${t('refund_reason')}
        <input data-testid="refund-reason" required maxlength="500" value=${reason} onInput=${(e) => setReason(e.target.value)} /></label>
      <button type="submit" class="danger" data-testid="refund-submit" disabled=${busy}>${t('confirm_refund')}</button>
      <button type="button" onClick=${onClose}>${t('keep_payment')}</button>
      ${problem && html`<p class="error" role="alert" data-testid="refund-error">${problem}</p>`}
    </form>`;
}

function PaymentItem({ payment, showOrder, t, onInfo, onChanged }) {
  const [refunding, setRefunding] = useState(false);
  const refundable = payment.state === 'paid' && payment.amount_fen > payment.refunded_fen;
  return html`
    <li class=${`payment payment-${payment.state}`} data-testid="payment" data-payment-id=${payment.id} data-state=${payment.state}>
      <div class="payment-line">
        <time>${formatTime(payment.paid_at || payment.created_at)}</time>
        ${showOrder && html`<span>${payment.order_id ? `${t('hit_kind.order')} #${payment.order_id}` : t('top_up')}</span>`}
        <span>${t(`pay_method.${payment.method}`)}</span>
        <strong data-testid="payment-amount">${yuan(payment.amount_fen)}</strong>
        <span class="pay-state" data-testid="payment-state">${t(`pay_state.${payment.state}`)}</span>
        ${payment.refunded_fen > 0 && html`<span class="refunded" data-testid="payment-refunded">${t('refunded', { amount: yuan(payment.refunded_fen) })}</span>`}
        <span class="muted" translate=${false}>${payment.created_by}</span>
        ${refundable && !refunding && html`<button type="button" class="small" data-testid="refund" onClick=${() => setRefunding(true)}>${t('refund')}</button>`}
      </div>
      ${payment.state === 'pending' && payment.method === 'wechat' && html`<${Waiting} payment=${payment} t=${t} />`}
      ${refunding && html`<${RefundForm} payment=${payment} t=${t} onInfo=${onInfo} onClose=${() => setRefunding(false)}
        onDone=${() => { setRefunding(false); onChanged(); }} />`}
    </li>`;
}

function PaymentList({ items, showOrder, t, onInfo, onChanged }) {
  if (!items.length) return html`<p class="empty">${t('no_payments')}</p>`;
  return html`<ul class="payments" data-testid="payments">
    ${items.map((p) => html`<${PaymentItem} key=${`${p.id}-${p.state}-${p.refunded_fen}`} payment=${p} showOrder=${showOrder} t=${t} onInfo=${onInfo} onChanged=${onChanged} />`)}
  </ul>`;
}

/** Cash, bank transfer or WeChat Pay: one choice, a group of radio buttons. */
function MethodChoice({ name, method, t, onChange }) {
  return html`
    <fieldset class="method-choice">
      <legend>${t('pay_method_label')}</legend>
      ${METHODS.map((m) => html`<label key=${m}>
        <input type="radio" name=${name} value=${m} checked=${method === m} data-testid=${`method-${m}`} onChange=${() => onChange(m)} />
        ${t(`pay_method.${m}`)}</label>`)}
    </fieldset>`;
}

// ---------------------------------------------------------------- on the order

function TakePayment({ order, due, t, onInfo, onDone }) {
  const [method, setMethod] = useState('cash');
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setProblem('');
    setBusy(true);
    try {
      const payment = await api(`/api/v1/service-orders/${order.id}/payments`, { method: 'POST', body: { method } });
      onInfo(t(payment.state === 'paid' ? 'payment_taken' : 'payment_waiting', { amount: yuan(payment.amount_fen) }));
      onDone();
    } catch (err) {
      setProblem(errorText(err, t));
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="take-payment" data-testid="take-payment" aria-label=${t('take_payment')} onSubmit=${submit}>
      <${MethodChoice} name=${`order-${order.id}-method`} method=${method} t=${t} onChange=${setMethod} />
      <button type="submit" class="primary" data-testid="take-payment-submit" disabled=${busy}>${t('take_amount', { amount: yuan(due) })}</button>
      ${problem && html`<p class="error" role="alert" data-testid="payment-error">${problem}</p>`}
    </form>`;
}

/** The order's self-pay, what is paid or waiting, what is still due, and its payments with their refunds. */
export function OrderPayments({ order, version, t, onError, onInfo }) {
  const [page, setPage] = useState(null);
  const [reloads, setReloads] = useState(0);
  const reload = () => setReloads((n) => n + 1);
  useEffect(() => {
    api(`/api/v1/payments?order_id=${order.id}&limit=100`).then(setPage, onError);
  }, [order.id, version, reloads]);
  const items = page?.items || [];
  usePolling(items.some((p) => p.state === 'pending'), reload);
  const held = items.filter((p) => HELD_STATES.has(p.state)).reduce((sum, p) => sum + p.amount_fen - p.refunded_fen, 0);
  const priced = order.price_cents != null;
  const due = priced ? Math.max((order.self_pay_cents || 0) - held, 0) : null;
  return html`
    <section class="order-payments" aria-label=${t('payments')} data-testid="order-payments">
      <h3>${t('payments')}</h3>
      ${!priced && html`<p class="muted" data-testid="payment-unpriced">${t('not_priced_yet')}</p>`}
      ${priced && html`<p class="payment-summary">${t('self_pay_total')} <strong>${yuan(order.self_pay_cents)}</strong>${' · '}${
        t('paid_or_waiting')} <strong>${yuan(held)}</strong>${' · '}${t('amount_due')} <strong data-testid="amount-due">${yuan(due)}</strong></p>`}
      ${priced && due > 0 && !NOT_CARRIED_OUT.has(order.state) && page
        && html`<${TakePayment} order=${order} due=${due} t=${t} onInfo=${onInfo} onDone=${reload} />`}
      ${page && html`<${PaymentList} items=${items} showOrder=${false} t=${t} onInfo=${onInfo} onChanged=${reload} />`}
    </section>`;
}

// ---------------------------------------------------------------- on the elder page

function TopUpForm({ elderId, t, onInfo, onDone }) {
  const [method, setMethod] = useState('cash');
  const [amount, setAmount] = useState('');
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const fen = fenFromYuan(amount);
    if (!fen) return setProblem(t('amount_invalid'));
    setProblem('');
    setBusy(true);
    try {
      const payment = await api(`/api/v1/elders/${elderId}/payments`, { method: 'POST', body: { method, amount_fen: fen } });
      onInfo(t(payment.state === 'paid' ? 'payment_taken' : 'payment_waiting', { amount: yuan(payment.amount_fen) }));
      setAmount('');
      onDone();
    } catch (err) {
      setProblem(errorText(err, t));
    } finally {
      setBusy(false);
    }
    return undefined;
  };
  return html`
    <form class="top-up-form" data-testid="top-up-form" aria-label=${t('top_up')} onSubmit=${submit} noValidate>
      <${MethodChoice} name=${`elder-${elderId}-method`} method=${method} t=${t} onChange=${setMethod} />
      <label>${t('amount_yuan')}
        <input type="text" inputmode="decimal" size="9" data-testid="top-up-amount" pattern=${YUAN_PATTERN} required
          value=${amount} onInput=${(e) => setAmount(e.target.value)} /></label>
      <button type="submit" class="primary" data-testid="top-up-submit" disabled=${busy}>${t('top_up_submit')}</button>
      ${problem && html`<p class="error" role="alert" data-testid="top-up-error">${problem}</p>`}
    </form>`;
}

function AllowanceFacts({ allowance, t }) {
  const owes = allowance.prepaid_fen < 0;
  const entitled = Boolean(allowance.entitled_by);
  return html`
    <dl class="money-facts">
      <dt>${t('entitled_by')}</dt><dd data-testid="allowance-entitled">${entitledText(allowance.entitled_by, t)}</dd>
      ${entitled && html`
        <dt>${t('allowance_monthly')}</dt><dd data-testid="allowance-monthly">${yuan(allowance.monthly_fen)}</dd>
        <dt>${t('allowance_share')}</dt><dd data-testid="allowance-share">${allowance.share_percent}%</dd>
        <dt>${t('allowance_spent')}</dt><dd data-testid="allowance-spent">${yuan(allowance.spent_fen)}</dd>
        <dt>${t('allowance_left')}</dt><dd data-testid="allowance-left"><strong>${yuan(allowance.left_fen)}</strong></dd>
        <dt>${t('month_end')}</dt><dd>${t(allowance.carry_over ? 'carried_over' : 'lapses')}</dd>`}
      <dt>${t(owes ? 'prepaid_owed' : 'prepaid_balance')}</dt>
      <dd data-testid="prepaid" class=${owes ? 'owed' : ''}>${yuan(Math.abs(allowance.prepaid_fen))}</dd>
      <dt>${t('prepaid_cap')}</dt><dd data-testid="prepaid-cap">${yuan(allowance.prepaid_cap_fen)}
        <span class="muted">${t('prepaid_cap_hint', { room: yuan(Math.max(allowance.prepaid_cap_fen - Math.max(allowance.prepaid_fen, 0), 0)) })}</span></dd>
    </dl>`;
}

/** The elder page's money: this month's allowance, the prepaid balance (or what the elder owes), a top-up,
 * and the elder's payments, paged by the server. */
export function MoneyCard({ elderId, t, onError, onInfo }) {
  const [reloads, setReloads] = useState(0);
  const reload = () => setReloads((n) => n + 1);
  const allowance = useAllowance(elderId, reloads, onError);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState({ items: [], total: 0 });
  useEffect(() => {
    const params = new URLSearchParams({ elder_id: String(elderId), limit: String(ELDER_PAGE), offset: String(offset) });
    api(`/api/v1/payments?${params}`).then(setPage, onError);
  }, [elderId, offset, reloads]);
  usePolling(page.items.some((p) => p.state === 'pending'), reload);
  return html`
    <section class="card money-card" aria-label=${t('money_card')} data-testid="money-card">
      <h3>${t('money_card')} ${allowance && html`<span class="muted">${allowance.month}</span>`}</h3>
      ${allowance && html`<${AllowanceFacts} allowance=${allowance} t=${t} />`}
      <h4>${t('top_up')}</h4>
      <${TopUpForm} elderId=${elderId} t=${t} onInfo=${onInfo} onDone=${reload} />
      <h4>${t('payments')} <span class="count" data-testid="elder-payments-count">${page.total}</span></h4>
      <${PaymentList} items=${page.items} showOrder=${true} t=${t} onInfo=${onInfo} onChanged=${reload} />
      <${Pager} offset=${offset} size=${ELDER_PAGE} total=${page.total} t=${t} onOffset=${setOffset} testid="elder-payments" />
    </section>`;
}

// ---------------------------------------------------------------- on the order form

/** What the agent tells the elder before a provider prices the service: the allowance left and the
 * government's share (or that the elder pays it all). */
export function AllowanceHint({ elderId, t, onError }) {
  const allowance = useAllowance(elderId, 0, onError);
  if (!allowance) return null;
  const text = allowance.entitled_by
    ? t('allowance_hint', { left: yuanDigits(allowance.left_fen), share: allowance.share_percent, by: entitledText(allowance.entitled_by, t) })
    : t('allowance_hint_none');
  return html`<p class="allowance-hint" data-testid="allowance-hint" aria-live="polite">${text}</p>`;
}
