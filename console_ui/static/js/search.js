// The one search box (press /): elders by name, pinyin initials, the last digits of a phone or ID number,
// address; calls, orders and complaints by number. Arrow keys move, Enter opens, Esc closes.

import { html, useEffect, useRef, useState } from '../vendor/htm/preact/standalone.module.js';
import { api } from './api.js';
import { formatTime } from './i18n.js';
import { useDebounced } from './live.js';

const LIMIT = 20;

function isTyping(target) {
  return Boolean(target.closest?.('input, textarea, select, [contenteditable]'));
}

/** `/` anywhere outside a text field puts the cursor in the search box. */
function useSlashToFocus(input) {
  useEffect(() => {
    const onKey = (event) => {
      if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
      event.preventDefault();
      input.current?.focus();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

function HitDetail({ hit, t }) {
  if (hit.kind === 'elder') {
    const parts = [`${hit.age}${t('age')}`, hit.phone, hit.id_number, hit.community].filter(Boolean);
    return html`<span class="muted">${parts.join(' · ')}</span>`;
  }
  const what = hit.kind === 'call' ? `P${hit.priority} · ${t(`state.${hit.state}`)}`
    : hit.kind === 'order' ? `${t(`service.${hit.service_type}`)} · ${t(`order_state.${hit.state}`)}`
    : t(`complaint_state.${hit.state}`);
  return html`<span class="muted">${what} · ${formatTime(hit.at)}</span>`;
}

export function SearchBox({ t, onError, onOpen }) {
  const input = useRef(null);
  const [text, setText] = useState('');
  const [found, setFound] = useState(null); // {items, more} of the settled text, or null
  const [active, setActive] = useState(0);
  const settled = useDebounced(text.trim(), 200);
  useSlashToFocus(input);
  useEffect(() => {
    if (!settled) {
      setFound(null);
      return undefined;
    }
    let current = true;
    api(`/api/v1/search?${new URLSearchParams({ q: settled, limit: String(LIMIT) })}`).then((answer) => {
      if (!current) return;
      setFound(answer);
      setActive(0);
    }, onError);
    return () => { current = false; };
  }, [settled]);

  const close = () => {
    setText('');
    setFound(null);
  };
  const open = (hit) => {
    close();
    input.current?.blur();
    onOpen(hit);
  };
  const onKeyDown = (event) => {
    const items = found?.items || [];
    if (event.key === 'ArrowDown') setActive((i) => Math.min(items.length - 1, i + 1));
    else if (event.key === 'ArrowUp') setActive((i) => Math.max(0, i - 1));
    else if (event.key === 'Enter' && items[active]) open(items[active]);
    else if (event.key === 'Escape') close();
    else return;
    event.preventDefault();
  };

  return html`
    <div class="global-search" role="search">
      <input ref=${input} type="search" role="combobox" aria-autocomplete="list" data-testid="global-search" aria-label=${t('search_label')}
        placeholder=${t('search_placeholder')} value=${text} autocomplete="off"
        aria-expanded=${Boolean(found)} aria-controls="search-results"
        onInput=${(e) => setText(e.target.value)} onKeyDown=${onKeyDown} />
      ${found && html`
        <ul class="search-results" id="search-results" role="listbox" aria-label=${t('search_label')} data-testid="search-results">
          ${found.items.length === 0 && html`<li class="empty">${t('search_none')}</li>`}
          ${found.items.map((hit, i) => html`
            <li key=${`${hit.kind}-${hit.id}`} role="option" aria-selected=${i === active}
                class=${`search-hit ${i === active ? 'active' : ''}`} data-testid="search-hit" data-kind=${hit.kind} data-id=${hit.id}
                onMouseDown=${(e) => { e.preventDefault(); open(hit); }}>
              <span class=${`hit-kind kind-${hit.kind}`}>${t(`hit_kind.${hit.kind}`)}${hit.kind === 'elder' ? '' : ` #${hit.id}`}</span>
              <strong translate=${false}>${hit.label}</strong>
              <${HitDetail} hit=${hit} t=${t} />
              <span class="hit-matched">${t(`matched.${hit.matched}`)}</span>
            </li>`)}
          ${found.more && html`<li class="empty">${t('search_more', { n: LIMIT })}</li>`}
        </ul>`}
    </div>`;
}
