// Open service-desk alerts (an order nobody took, an elder nobody could reach, coverage broken...) as a
// strip under the top bar; any operator who sees one can mark it handled. Agents see the agents' alerts,
// supervisors and admins all of them.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { api } from './api.js';
import { alertText, formatTime } from './i18n.js';
import { useTopic } from './live.js';

function visibleTo(me, alert) {
  return me.role !== 'agent' || alert.audience === 'agents';
}

function newestFirst(a, b) {
  return b.created_at.localeCompare(a.created_at) || b.id - a.id;
}

export function AlertStrip({ me, topics, t, onError }) {
  const [alerts, setAlerts] = useState([]);
  const [reloads, setReloads] = useState(0);
  useEffect(() => {
    api('/api/v1/alerts?limit=100').then((page) => setAlerts(page.items), onError);
  }, [reloads]);
  useTopic(topics, 'resync', () => setReloads((n) => n + 1));
  useTopic(topics, 'alert', (alert) => {
    setAlerts((current) => {
      const others = current.filter((a) => a.id !== alert.id);
      return alert.acknowledged_at ? others : [alert, ...others];
    });
  });
  const acknowledge = async (id) => {
    try {
      await api(`/api/v1/alerts/${id}/acknowledge`, { method: 'POST' });
      setAlerts((current) => current.filter((a) => a.id !== id));
    } catch (err) {
      onError(err);
    }
  };
  const shown = alerts.filter((a) => visibleTo(me, a)).sort(newestFirst);
  if (!shown.length) return null;
  return html`
    <section class="alert-strip" data-testid="alerts" aria-label=${t('alerts_title')}>
      <strong>${t('alerts_title')} (${shown.length})</strong>
      <ul>
        ${shown.slice(0, 5).map((a) => html`
          <li key=${a.id} class=${`alert-item audience-${a.audience}`} data-testid="alert-item" data-alert-id=${a.id} data-kind=${a.kind}>
            <time>${formatTime(a.created_at)}</time>
            <span class="alert-text">${alertText(a, t)}</span>
            <button class="small" data-testid="alert-ack" onClick=${() => acknowledge(a.id)}>${t('alert_ack')}</button>
          </li>`)}
      </ul>
    </section>`;
}
