// The supervisors' wallboard (大屏): today's service levels from GET /api/v1/voice/stats, refreshed every
// 5 s and whenever a phone or agent message arrives, against the telecare targets (97.5% answered within
// 60 s, 99% within 180 s: red when below), and every agent's state, kept live from the agent messages.

import { html, useEffect, useRef, useState } from '../vendor/htm/preact/standalone.module.js';
import { api } from './api.js';
import { formatDuration, localToUtc, localToday } from './i18n.js';
import { useTopic } from './live.js';
import { AGENT_STATES } from './agentstate.js';

const REFRESH_MS = 5000;
const MESSAGE_REFRESH_MS = 500; // a burst of messages costs one request
export const TARGETS = { 60: 97.5, 180: 99 };
const WITHIN = [20, 60, 180];

export function belowTarget(seconds, pct) {
  const target = TARGETS[seconds];
  return target !== undefined && pct !== null && pct < target;
}

function Tile({ label, value, testid, alarm = false, hint = '' }) {
  return html`
    <div class=${`tile ${alarm ? 'below-target' : ''}`} data-testid=${testid} data-below-target=${alarm ? 'true' : 'false'}>
      <div class="tile-value">${value}</div>
      <div class="tile-label">${label}</div>
      ${hint && html`<div class="tile-hint">${hint}</div>`}
    </div>`;
}

function ServiceLevel({ stats, seconds, t }) {
  const pct = stats[`answered_within_${seconds}s_pct`] ?? null; // a percentage (97.5), null before any call
  const target = TARGETS[seconds];
  return html`<${Tile} testid=${`wallboard-within-${seconds}`} label=${t('wallboard.within', { s: seconds })}
    value=${pct === null ? '—' : `${pct.toFixed(1)}%`} alarm=${belowTarget(seconds, pct)}
    hint=${`${stats[`answered_within_${seconds}s`] ?? 0}${target ? ` · ${t('wallboard.target')} ${target}%` : ''}`} />`;
}

function AgentsBoard({ agents, t }) {
  const byState = (state) => agents.filter((a) => a.state === state);
  return html`
    <section class="card wallboard-agents" aria-label=${t('wallboard.agents')}>
      <h3>${t('wallboard.agents')}</h3>
      <div class="agent-columns">
        ${AGENT_STATES.map((state) => html`
          <div key=${state} class=${`agent-column agent-${state}`} data-testid=${`wallboard-agents-${state}`}>
            <h4>${t(`agent_state.${state}`)} <span class="count">${byState(state).length}</span></h4>
            <ul>${byState(state).map((a) => html`<li key=${a.operator_id} data-operator-id=${a.operator_id} translate=${false}>${a.display_name}</li>`)}</ul>
          </div>`)}
      </div>
    </section>`;
}

function since() {
  return localToUtc(localToday(), '00:00');
}

export function Wallboard({ topics, t, onError }) {
  const [stats, setStats] = useState(null);
  const [agents, setAgents] = useState([]);
  const [refreshed, setRefreshed] = useState(null);
  const pending = useRef(null);
  const load = () => {
    api(`/api/v1/voice/stats?${new URLSearchParams({ since: since() })}`).then((s) => {
      setStats(s);
      setRefreshed(new Date());
    }, onError);
  };
  const loadAgents = () => api('/api/v1/agents').then((p) => setAgents(p.items), onError);
  const soon = () => {
    if (pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      load();
    }, MESSAGE_REFRESH_MS);
  };
  useEffect(() => {
    load();
    loadAgents();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      clearInterval(timer);
      clearTimeout(pending.current);
    };
  }, []);
  useTopic(topics, 'phone', soon);
  useTopic(topics, 'agent', (message) => {
    setAgents((current) => (current.some((a) => a.operator_id === message.operator_id)
      ? current.map((a) => (a.operator_id === message.operator_id ? { ...a, ...message } : a))
      : [...current, message]));
    soon();
  });
  useTopic(topics, 'resync', () => {
    load();
    loadAgents();
  });
  if (!stats) return html`<section class="wallboard" data-testid="wallboard"></section>`;
  const handle = stats.average_handle_s;
  return html`
    <section class="wallboard" data-testid="wallboard" aria-label=${t('wallboard.title')}>
      <header class="wallboard-head">
        <h2>${t('wallboard.title')}</h2>
        <span class="muted">${t('wallboard.today')}${refreshed ? ` · ${t('wallboard.refreshed')} ${refreshed.toLocaleTimeString('en-GB', { timeZone: 'Asia/Shanghai' })}` : ''}</span>
      </header>
      <div class="tiles">
        <${Tile} testid="wallboard-waiting" label=${t('wallboard.waiting_now')} value=${stats.waiting_now} alarm=${stats.waiting_now > 0} />
        <${Tile} testid="wallboard-longest" label=${t('wallboard.longest_wait')} value=${formatDuration(stats.longest_wait_s || 0)}
          alarm=${(stats.longest_wait_s || 0) >= 60} />
        <${Tile} testid="wallboard-offered" label=${t('wallboard.offered')} value=${stats.offered} />
        <${Tile} testid="wallboard-answered" label=${t('wallboard.answered')} value=${stats.answered} />
        <${Tile} testid="wallboard-abandoned" label=${t('wallboard.abandoned')} value=${stats.abandoned} alarm=${stats.abandoned > 0} />
        <${Tile} testid="wallboard-handle" label=${t('wallboard.average_handle')} value=${handle == null ? '—' : formatDuration(handle)} />
      </div>
      <div class="tiles service-levels">
        ${WITHIN.map((s) => html`<${ServiceLevel} key=${s} stats=${stats} seconds=${s} t=${t} />`)}
      </div>
      <${AgentsBoard} agents=${agents} t=${t} />
    </section>`;
}
