// Click-to-call and the "log a phone call" form. Every phone number the console shows goes through
// <PhoneNumber>: the number and a call button that asks the server to ring the agent's phone and then the
// number (POST /api/v1/phone-calls/dial). Without telephony (409) the agent is told why and gets the form
// to log the call by hand (POST /api/v1/phone-calls), which works whatever the deployment.

import { createContext, html, useContext, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { api, ApiError } from './api.js';
import { useDebounced } from './live.js';

export const DIRECTIONS = ['inbound', 'outbound'];
export const CATEGORIES = ['emergency', 'home_service', 'enquiry', 'complaint', 'follow_up', 'care_call', 'emotional_support', 'other'];
// What reaches the centre by phone without a device (the new-contact form's choices).
const CONTACT_CATEGORIES = ['emergency', 'home_service', 'enquiry', 'complaint', 'emotional_support'];
export const OUTCOMES = ['answered', 'no_answer', 'busy', 'failed', 'abandoned'];
const LINKS = ['call_id', 'order_id', 'follow_up_id', 'care_call_id', 'complaint_id'];
const DIAL_LINKS = new Set(['call_id', 'follow_up_id', 'care_call_id', 'order_id', 'complaint_id']);

/** What the console's phone offers to every component: dial(number, links) and logCall(prefill). */
export const PhoneContext = createContext({ dial: () => {}, logCall: () => {} });

export function usePhone() {
  return useContext(PhoneContext);
}

// Why the server refused a dial (409), from its message: said again in the console's language.
const REFUSALS = [
  [/no telephony/i, 'voice_not_configured'],
  [/no phone/i, 'no_agent_phone'],
  [/already on a call/i, 'already_on_call'],
];

/** A refused dial: its message in the current language, and whether logging by hand is the way on. */
export function dialRefusal(err, t) {
  const found = REFUSALS.find(([pattern]) => pattern.test(err?.message || ''));
  if (!found) return { text: t('dial_unavailable'), logInstead: true };
  return { text: t(`dial_refused.${found[1]}`), logInstead: found[1] !== 'already_on_call' };
}

/** Ask the server to place the call; a 409 means no telephony (or no phone for this agent). */
export async function placeCall(to, links) {
  const body = { to };
  for (const [key, value] of Object.entries(links || {})) if (DIAL_LINKS.has(key) && value != null) body[key] = value;
  return api('/api/v1/phone-calls/dial', { method: 'POST', body });
}

export function isRefusal(err) {
  return err instanceof ApiError && err.status === 409;
}

/** A phone number with its call button; `links` say where the call belongs (call_id, follow_up_id...). */
export function PhoneNumber({ number, links, t, testid }) {
  const { dial } = usePhone();
  if (!number) return html`<span class="muted">—</span>`;
  return html`
    <span class="phone-number">
      <a href=${`tel:${number}`} data-testid=${testid || 'phone-number'}>${number}</a>
      <button type="button" class="small dial-button" data-testid="dial" title=${t('dial_hint')} aria-label=${`${t('dial')} ${number}`}
        onClick=${(e) => { e.stopPropagation(); dial(number, links || {}); }}>☎ ${t('dial')}</button>
    </span>`;
}

// ---------------------------------------------------------------- the log form

/** Who a number belongs to, by the elder search (name, phone or ID fragment). */
function NumberLookup({ number, t, onPick }) {
  const settled = useDebounced(number.replace(/[^\d+]/g, ''), 300);
  const [found, setFound] = useState(null);
  useEffect(() => {
    if (settled.replace(/\D/g, '').length < 5) {
      setFound(null);
      return undefined;
    }
    let current = true;
    const digits = settled.replace(/^\+?86/, '');
    api(`/api/v1/elders?${new URLSearchParams({ q: digits, limit: '5' })}`).then((p) => current && setFound(p.items), () => current && setFound([]));
    return () => { current = false; };
  }, [settled]);
  if (found === null) return null;
  if (found.length === 0) return html`<p class="muted lookup" data-testid="log-lookup">${t('number_unknown')}</p>`;
  return html`
    <ul class="lookup elder-options" data-testid="log-lookup">
      ${found.map((e) => html`<li key=${e.id}>
        <button type="button" data-testid="log-lookup-elder" data-elder-id=${e.id} onClick=${() => onPick(e)}>
          <strong>${e.name}</strong> <span class="muted">${t('caller_kind.elder')} · ${e.age}${t('age')} · ${e.district} ${e.community}</span></button>
      </li>`)}
    </ul>`;
}

function linkText(key, value, t) {
  return `${t(`phone_link.${key}`)} #${value}`;
}

/** The "log a phone call" form, in a dialog; `prefill` may carry number, direction, category, links, elder. */
export function LogCallForm({ prefill, t, onError, onSaved, onClose }) {
  const [number, setNumber] = useState(prefill.number || '');
  const [elder, setElder] = useState(prefill.elder || null);
  const [busy, setBusy] = useState(false);
  const links = Object.fromEntries(LINKS.filter((k) => prefill.links?.[k] != null).map((k) => [k, prefill.links[k]]));
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const minutes = Number(form.get('minutes') || 0);
    const seconds = Number(form.get('seconds') || 0);
    const body = {
      direction: form.get('direction'),
      number: number.trim(),
      category: form.get('category'),
      outcome: form.get('outcome'),
      note: form.get('note').trim(),
      ...links,
    };
    if (minutes || seconds) body.talk_seconds = minutes * 60 + seconds;
    if (elder) body.elder_id = elder.id;
    setBusy(true);
    try {
      const saved = await api('/api/v1/phone-calls', { method: 'POST', body });
      onSaved(elder ? { ...saved, pickedElder: elder } : saved);
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  const choice = (name, values, group, initial) => html`
    <label>${t(`log_field.${name}`)}
      <select name=${name} data-testid=${`log-${name}`}>
        ${values.map((v) => html`<option key=${v} value=${v} selected=${v === initial}>${t(`${group}.${v}`)}</option>`)}
      </select>
    </label>`;
  return html`
    <div class="modal-backdrop" onClick=${(e) => e.target === e.currentTarget && onClose()}>
      <form class="log-call-form card" role="dialog" aria-label=${t(prefill.newContact ? 'new_contact' : 'log_call')} data-testid="log-call-form" onSubmit=${submit}>
        <h3>${t(prefill.newContact ? 'new_contact' : 'log_call')}</h3>
        ${prefill.reason && html`<p class="warn" data-testid="log-reason">${prefill.reason}</p>`}
        <label>${t('log_field.number')}
          <input name="number" type="tel" data-testid="log-number" required maxlength="32" value=${number}
            onInput=${(e) => { setNumber(e.target.value); setElder(null); }} autocomplete="off" /></label>
        ${elder
          ? html`<div class="picked-elder" data-testid="log-elder"><strong>${elder.name}</strong>
              <button type="button" class="link" onClick=${() => setElder(null)}>${t('change_elder')}</button></div>`
          : html`<${NumberLookup} number=${number} t=${t} onPick=${setElder} />`}
        <div class="form-row">
          ${!prefill.newContact && choice('direction', DIRECTIONS, 'phone_direction', prefill.direction || 'inbound')}
          ${prefill.newContact && html`<input type="hidden" name="direction" value="inbound" />`}
          ${choice('category', prefill.newContact ? CONTACT_CATEGORIES : CATEGORIES, 'phone_category', prefill.category || 'enquiry')}
          ${choice('outcome', OUTCOMES, 'phone_outcome', prefill.outcome || 'answered')}
        </div>
        <div class="form-row talk-time">
          <label>${t('log_field.talk_time')}
            <span><input name="minutes" type="number" min="0" max="1440" data-testid="log-minutes" aria-label=${t('minutes')} /> ${t('minutes')}
              <input name="seconds" type="number" min="0" max="59" data-testid="log-seconds" aria-label=${t('seconds')} /> ${t('seconds')}</span></label>
        </div>
        <label class="wide">${t('log_field.note')}
          <textarea name="note" data-testid="log-note" maxlength="4000"></textarea></label>
        ${Object.keys(links).length > 0 && html`<p class="links muted" data-testid="log-links">
          ${Object.entries(links).map(([k, v]) => html`<span key=${k} class="tag">${linkText(k, v, t)}</span>`)}</p>`}
        <div class="form-actions">
          <button type="submit" class="primary" data-testid="log-submit" disabled=${busy}>${t('log_save')}</button>
          <button type="button" onClick=${onClose}>${t('back')}</button>
        </div>
      </form>
    </div>`;
}
