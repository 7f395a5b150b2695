// The agent's seat state in the header (就绪 / 小休 / 离线), set with PUT /api/v1/agents/me/state; the
// telephony's own states (ringing, on a call, wrap-up with its countdown) are shown as the server says.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { api } from './api.js';
import { formatDuration } from './i18n.js';
import { useTopic } from './live.js';

export const CHOSEN_STATES = ['ready', 'away', 'offline'];
export const AGENT_STATES = ['ready', 'ringing', 'on_call', 'wrap_up', 'away', 'offline'];
const DEFAULT_WRAP_UP_SECONDS = 30;

export function takesCalls(me) {
  return me.role === 'agent' || me.role === 'supervisor';
}

/** When the wrap-up ends: the server's wrap_up_until, else since + the wrap-up setting. */
export function wrapUpEnds(presence, config) {
  if (presence.wrap_up_until) return Date.parse(presence.wrap_up_until);
  const seconds = config?.wrap_up_seconds ?? DEFAULT_WRAP_UP_SECONDS;
  return Date.parse(presence.since) + seconds * 1000;
}

/** This operator's presence, kept current from the agents list, the PUT answers and agent messages. */
export function useMyPresence(me, topics, onError) {
  const [presence, setPresence] = useState(null);
  const load = () => api('/api/v1/agents').then((page) => {
    const mine = page.items.find((a) => a.operator_id === me.id);
    setPresence(mine || { operator_id: me.id, state: 'offline', since: null });
  }, (err) => err.status !== 404 && onError(err)); // 404: a server without the hotline
  useEffect(() => {
    if (takesCalls(me)) load();
  }, []);
  useTopic(topics, 'agent', (message) => {
    if (message.operator_id !== me.id) return;
    setPresence((p) => ({ ...(p || {}), wrap_up_until: null, ...message }));
    if (message.state === 'wrap_up' && !message.wrap_up_until) load(); // the list says when it ends
  });
  useTopic(topics, 'resync', () => takesCalls(me) && load());
  return [presence, setPresence];
}

export function AgentStateSelector({ me, presence, config, now, t, onChange, onError }) {
  const [busy, setBusy] = useState(false);
  if (!takesCalls(me) || !presence) return null;
  const state = presence.state;
  const choose = async (next) => {
    setBusy(true);
    try {
      onChange(await api('/api/v1/agents/me/state', { method: 'PUT', body: { state: next } }));
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  const left = state === 'wrap_up' ? (wrapUpEnds(presence, config) - now) / 1000 : null;
  return html`
    <span class=${`agent-state agent-${state}`} data-testid="agent-state" data-state=${state}>
      <span class="agent-dot" aria-hidden="true"></span>
      ${CHOSEN_STATES.includes(state)
        ? null
        : html`<span class="agent-state-label" data-testid="agent-state-label">${t(`agent_state.${state}`)}${left !== null
          ? html` <span class="countdown" data-testid="wrap-up-countdown">${formatDuration(left)}</span>` : ''}</span>`}
      <select aria-label=${t('agent_state_label')} data-testid="agent-state-select" disabled=${busy}
        value=${CHOSEN_STATES.includes(state) ? state : ''} onChange=${(e) => e.target.value && choose(e.target.value)}>
        ${!CHOSEN_STATES.includes(state) && html`<option value="">${t('agent_state_change')}</option>`}
        ${CHOSEN_STATES.map((s) => html`<option key=${s} value=${s}>${t(`agent_state.${s}`)}</option>`)}
      </select>
    </span>`;
}
