// The providers view (服务商): status, rating and review flag of each provider; one provider's admission
// checklist, price list and staff, and for supervisors its quality figures.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { api } from './api.js';
import { dictionary, formatTime } from './i18n.js';
import { useDebounced } from './live.js';

const STATUSES = ['pending', 'active', 'suspended', 'exited'];

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
        data-provider-id=${provider.id} onClick=${() => onSelect(provider.id)}>
      <td class="provider-name">${provider.name}</td>
      <td>${provider.district}</td>
      <td><span class=${`status-badge status-${provider.status}`}>${t(`provider_status.${provider.status}`)}</span></td>
      <td><${Rating} provider=${provider} t=${t} /></td>
      <td>${provider.review_flag && html`<span class="review-flag" data-testid="review-flag" title=${provider.review_flag}>⚑ ${t('review_flag')}</span>`}</td>
    </tr>`;
}

function Admission({ provider, t }) {
  const criteria = Object.keys(dictionary('en').admission_criterion);
  const record = provider.admission || {};
  return html`
    <section aria-label=${t('admission')}>
      <h3>${t('admission')} ${provider.admission_missing?.length ? html`<span class="warn">${t('admission_missing', { n: provider.admission_missing.length })}</span>` : ''}</h3>
      <ul class="checklist" data-testid="admission">
        ${criteria.map((c) => {
          const entry = record[c];
          const mark = !entry ? 'not_checked' : entry.met ? 'met' : 'not_met';
          return html`<li key=${c} class=${`check-${mark}`}>
            <span class="check-mark">${mark === 'met' ? '✓' : mark === 'not_met' ? '✗' : '?'}</span>
            <span>${t(`admission_criterion.${c}`)}</span>
            <span class="muted">${t(mark)}${entry?.evidence ? ` · ${entry.evidence}` : ''}${entry?.checked_by ? ` · ${t('checked_by')} ${entry.checked_by} ${formatTime(entry.checked_at)}` : ''}</span>
          </li>`;
        })}
      </ul>
    </section>`;
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
          <strong>${s.name}</strong> ${s.phone} ${s.qualifications.length ? `· ${s.qualifications.join('、')}` : ''}
          ${s.active ? '' : ` · ${t('inactive_staff')}`}</li>`)}
      </ul>
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

function ProviderDetail({ providerId, quality, t, onError }) {
  const [provider, setProvider] = useState(null);
  useEffect(() => {
    api(`/api/v1/providers/${providerId}`).then(setProvider, onError);
  }, [providerId]);
  if (!provider) return html`<aside class="provider-detail card"></aside>`;
  return html`
    <aside class="provider-detail card" data-testid="provider-detail" data-provider-id=${provider.id}>
      <h2>${provider.name} <span class=${`status-badge status-${provider.status}`}>${t(`provider_status.${provider.status}`)}</span></h2>
      <dl class="facts">
        <dt>${t('rating')}</dt><dd><${Rating} provider=${provider} t=${t} /></dd>
        ${provider.review_flag && html`<dt>${t('review_flag')}</dt><dd class="warn">${provider.review_flag} ${formatTime(provider.flagged_at)}</dd>`}
        ${provider.status_reason && html`<dt>${t('status_reason')}</dt><dd>${provider.status_reason}</dd>`}
        <dt>${t('phone')}</dt><dd>${provider.phone}</dd>
        <dt>${t('contact_person')}</dt><dd>${provider.contact_person || '—'}</dd>
        <dt>${t('address')}</dt><dd>${provider.district} ${provider.address}</dd>
        <dt>${t('service_type')}</dt><dd>${provider.service_types.map((s) => t(`service.${s}`)).join('、')}</dd>
        <dt>${t('capacity')}</dt><dd>${provider.capacity}</dd>
      </dl>
      ${quality !== undefined && html`<${Quality} quality=${quality} t=${t} />`}
      <${Admission} provider=${provider} t=${t} />
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

export function ProvidersView({ me, t, onError }) {
  const [query, setQuery] = useState('');
  const [status, setStatus] = useState('');
  const [page, setPage] = useState({ items: [], total: 0 });
  const [selectedId, setSelectedId] = useState(null);
  const settled = useDebounced(query.trim());
  const quality = useQuality(me, onError);
  useEffect(() => {
    const params = new URLSearchParams({ limit: '500' });
    if (settled) params.set('q', settled);
    if (status) params.set('status', status);
    api(`/api/v1/providers?${params}`).then(setPage, onError);
  }, [settled, status]);
  const qualityOf = (id) => (quality ? quality.get(id) || null : undefined);

  return html`
    <section class="desk-view providers-view" aria-label=${t('providers_title')}>
      <div class="board card">
        <div class="board-head">
          <h2>${t('providers_title')} <span class="count">${page.total}</span></h2>
          <input type="search" aria-label=${t('search_providers')} placeholder=${t('search_providers')} value=${query}
            onInput=${(e) => setQuery(e.target.value)} />
          <select aria-label=${t('all_statuses')} value=${status} onChange=${(e) => setStatus(e.target.value)}>
            <option value="">${t('all_statuses')}</option>
            ${STATUSES.map((s) => html`<option key=${s} value=${s}>${t(`provider_status.${s}`)}</option>`)}
          </select>
        </div>
        <table class="orders-table" data-testid="providers-list">
          <thead><tr><th>${t('col.provider')}</th><th>${t('district')}</th><th>${t('col.state')}</th><th>${t('rating')}</th><th>${t('col.flags')}</th></tr></thead>
          <tbody>
            ${page.items.map((p) => html`<${ProviderRow} key=${p.id} provider=${p} selected=${p.id === selectedId} t=${t} onSelect=${setSelectedId} />`)}
          </tbody>
        </table>
        ${page.items.length === 0 && html`<p class="empty">${t('no_providers')}</p>`}
      </div>
      ${selectedId === null
        ? html`<aside class="provider-detail card empty">${t('select_provider')}</aside>`
        : html`<${ProviderDetail} key=${selectedId} providerId=${selectedId} quality=${qualityOf(selectedId)} t=${t} onError=${onError} />`}
    </section>`;
}
