// The coverage panel (覆盖) of the providers view: active providers per district and service type against
// the tender's minimum (below it in red), and per type the elders no active provider reaches within the
// service circle. Any operator may look; the report is fetched again whenever `revision` changes.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { api } from './api.js';

// The types every district must have at least `minimum` of, in the tender's order; the rest follow.
export const REQUIRED_FIRST = ['meal_assistance', 'medical_escort', 'health_care', 'housekeeping'];

/** The report's service types, the required ones first (in REQUIRED_FIRST order), then the rest as sent. */
export function typesInOrder(types) {
  const unique = [...new Set(types)];
  const rank = (type) => (REQUIRED_FIRST.includes(type) ? REQUIRED_FIRST.indexOf(type) : REQUIRED_FIRST.length);
  return unique.map((type, i) => [type, i]).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([type]) => type);
}

/** The report's rows as a grid: districts, types (required first) and the row of each (district, type). */
function grid(report) {
  const districts = [...new Set(report.districts.map((row) => row.district))];
  const types = typesInOrder(report.districts.map((row) => row.service_type));
  const cells = new Map(report.districts.map((row) => [`${row.district}|${row.service_type}`, row]));
  return { districts, types, cell: (district, type) => cells.get(`${district}|${type}`) };
}

function CoverageCell({ row, district, type, t }) {
  if (!row) return html`<td class="coverage-cell">—</td>`;
  const short = row.required && !row.meets_minimum;
  return html`
    <td class=${`coverage-cell ${short ? 'below-minimum' : ''} ${row.required ? 'required' : ''}`} data-testid="coverage-cell"
        data-district=${district} data-service-type=${type} data-meets-minimum=${String(row.meets_minimum)}
        title=${short ? t('coverage_below_minimum') : ''}>
      ${row.active_providers}${short ? html` <span class="short-mark" aria-label=${t('coverage_below_minimum')}>!</span>` : ''}
    </td>`;
}

/** Types down the side, districts across the top: district names are short, type names are not. */
function CoverageTable({ report, t }) {
  const { districts, types, cell } = grid(report);
  if (!districts.length) return html`<p class="empty">${t('coverage_no_districts')}</p>`;
  return html`
    <table class="coverage-table" data-testid="coverage-table">
      <thead><tr><th>${t('service_type')}</th>${districts.map((d) => html`<th key=${d} translate=${!d}>${d || t('no_district')}</th>`)}</tr></thead>
      <tbody>
        ${types.map((type) => html`
          <tr key=${type} class=${REQUIRED_FIRST.includes(type) ? 'required-type' : ''}>
            <th scope="row">${t(`service.${type}`)}${REQUIRED_FIRST.includes(type) ? html` <span class="required-tag">${t('coverage_required')}</span>` : ''}</th>
            ${districts.map((d) => html`<${CoverageCell} key=${d} row=${cell(d, type)} district=${d} type=${type} t=${t} />`)}
          </tr>`)}
      </tbody>
    </table>`;
}

function UncoveredRow({ group, t }) {
  const [open, setOpen] = useState(false);
  const hidden = group.count - group.elders.length;
  return html`
    <li class=${`uncovered-row ${group.count ? 'has-uncovered' : ''}`} data-testid="uncovered-row" data-service-type=${group.service_type}>
      <div class="uncovered-head">
        <span class="uncovered-type">${t(`service.${group.service_type}`)}</span>
        <strong class="uncovered-count" data-testid="uncovered-count">${group.count}</strong>
        ${group.count > 0 && html`<button class="small" data-testid="uncovered-toggle" aria-expanded=${open}
          onClick=${() => setOpen(!open)}>${open ? t('collapse') : t('show_elders')}</button>`}
      </div>
      ${open && html`
        <ul class="uncovered-elders" data-testid="uncovered-elders">
          ${group.elders.map((e) => html`<li key=${e.id} data-elder-id=${e.id}>${e.name}
            <span class="muted">${[e.district, e.community].filter(Boolean).join(' ')}</span></li>`)}
          ${hidden > 0 && html`<li class="muted">${t('uncovered_more', { n: hidden })}</li>`}
        </ul>`}
    </li>`;
}

function Uncovered({ report, t }) {
  const order = typesInOrder(report.uncovered.map((g) => g.service_type));
  const groups = order.map((type) => report.uncovered.find((g) => g.service_type === type));
  return html`
    <section class="uncovered" aria-label=${t('uncovered_title', { minutes: report.circle_minutes })}>
      <h3>${t('uncovered_title', { minutes: report.circle_minutes })}</h3>
      <ul class="uncovered-list">
        ${groups.map((g) => html`<${UncoveredRow} key=${g.service_type} group=${g} t=${t} />`)}
      </ul>
    </section>`;
}

export function CoverageView({ revision, t, onError }) {
  const [report, setReport] = useState(null);
  useEffect(() => {
    api('/api/v1/coverage').then(setReport, onError);
  }, [revision]);
  if (!report) return html`<div class="coverage-view" data-testid="coverage-view"></div>`;
  return html`
    <div class="coverage-view" data-testid="coverage-view" aria-label=${t('coverage_title')}>
      <p class="muted coverage-rule">${t('coverage_rule', { minimum: report.minimum, minutes: report.circle_minutes })}</p>
      <${CoverageTable} report=${report} t=${t} />
      <${Uncovered} report=${report} t=${t} />
    </div>`;
}
