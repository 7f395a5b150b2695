// Server-side paging of a list: previous, "1–50 of 282", next.

import { html } from '../vendor/htm/preact/standalone.module.js';

export function Pager({ offset, size, total, t, onOffset, testid = 'pager' }) {
  if (total <= size && offset === 0) return null;
  const last = Math.min(offset + size, total);
  return html`
    <div class="pager" data-testid=${testid}>
      <button type="button" disabled=${offset === 0} onClick=${() => onOffset(Math.max(0, offset - size))} data-testid=${`${testid}-prev`}>${t('page_prev')}</button>
      <span data-testid=${`${testid}-range`}>${total ? t('page_range', { from: offset + 1, to: last, total }) : ''}</span>
      <button type="button" disabled=${last >= total} onClick=${() => onOffset(offset + size)} data-testid=${`${testid}-next`}>${t('page_next')}</button>
    </div>`;
}
