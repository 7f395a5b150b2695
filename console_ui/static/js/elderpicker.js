// Picking an elder in a form (a new order, a complaint): the search box's elders, by name, pinyin initials,
// or the last digits of a phone or ID number.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { api } from './api.js';
import { useDebounced } from './live.js';

/** A search hit as the forms use an elder: name, masked phone and ID number, community. */
function asElder(hit) {
  return { id: hit.id, name: hit.label, phone: hit.phone, id_number: hit.id_number, district: '', community: hit.community };
}

export function ElderPicker({ elder, t, onError, onPick, testids = ['elder-search', 'elder-option'] }) {
  const [query, setQuery] = useState('');
  const [found, setFound] = useState(null);
  const settled = useDebounced(query.trim());
  useEffect(() => {
    if (!settled) {
      setFound(null);
      return undefined;
    }
    let current = true;
    api(`/api/v1/search?${new URLSearchParams({ q: settled, limit: '10' })}`)
      .then((answer) => current && setFound(answer.items.filter((hit) => hit.kind === 'elder').map(asElder)), onError);
    return () => { current = false; };
  }, [settled]);

  if (elder) {
    return html`<div class="picked-elder" data-testid="picked-elder">
      <strong translate=${false}>${elder.name}</strong> <span class="muted" translate=${false}>${[elder.phone, [elder.district, elder.community].filter(Boolean).join(' ')].filter(Boolean).join(' · ')}</span>
      <button type="button" class="link" onClick=${() => onPick(null)}>${t('change_elder')}</button>
    </div>`;
  }
  return html`
    <div class="elder-picker">
      <input type="search" data-testid=${testids[0]} aria-label=${t('elder_search')} placeholder=${t('elder_search')}
        value=${query} onInput=${(e) => setQuery(e.target.value)} autocomplete="off" />
      ${found && found.length === 0 && html`<p class="empty">${t('no_elders_found')}</p>`}
      ${found && found.length > 0 && html`
        <ul class="elder-options">
          ${found.map((e) => html`<li key=${e.id}>
            <button type="button" data-testid=${testids[1]} data-elder-id=${e.id} onClick=${() => onPick(e)}>
              <strong translate=${false}>${e.name}</strong> <span class="muted" translate=${false}>${[e.phone, e.id_number, e.community].filter(Boolean).join(' · ')}</span>
            </button></li>`)}
        </ul>`}
    </div>`;
}
