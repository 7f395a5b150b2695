// The call map: alarm position, home, safe area and nearby providers. Tiles come from the configured
// URL; without one the same layers are drawn on a plain background.

import * as L from '../vendor/leaflet/leaflet-src.esm.js';
import { html, useEffect, useRef } from '../vendor/htm/preact/standalone.module.js';

function latLng(point) {
  return [point.lat, point.lon];
}

function safeAreaLayer(area, label) {
  // GeoJSON is lon/lat; Leaflet's geoJSON layer swaps it for us.
  return L.geoJSON(area, { style: { className: 'map-safe-area', color: '#2e7d32', weight: 2, dashArray: '6 4', fillOpacity: 0.08 } })
    .bindTooltip(label);
}

function kilometres(metres) {
  return `${(metres / 1000).toFixed(1)} km`;
}

/** What the accepting provider's label says: name, distance and, when the ranking knew it, the ETA. */
export function acceptedLabel(accepted, t) {
  const eta = accepted.minutes == null ? '' : ` · ${t('eta_minutes', { n: Math.max(1, Math.round(accepted.minutes)) })}`;
  return `${accepted.name} · ${kilometres(accepted.distance_m)}${eta}`;
}

function providerLayer(provider, number, accepted, t) {
  const isAccepted = accepted?.id === provider.id;
  const marker = L.circleMarker(latLng(provider.base_location), isAccepted
    ? { className: 'marker-provider accepted', radius: 10, color: '#e65100', weight: 3, fillOpacity: 0.9 }
    : { className: 'marker-provider', radius: 6, color: '#6a1b9a', fillOpacity: 0.8 });
  return isAccepted
    ? marker.bindTooltip(acceptedLabel(accepted, t), { permanent: true, direction: 'right', className: 'accepted-label' })
    : marker.bindTooltip(String(number), { permanent: true, direction: 'center', className: 'provider-label' });
}

function layersOf({ call, elder, providers, accepted, t }) {
  const layers = [];
  if (elder?.safe_area) layers.push(safeAreaLayer(elder.safe_area, t('map_safe_area')));
  nearestFirst(providers).forEach((provider, i) => layers.push(providerLayer(provider, i + 1, accepted, t)));
  // The northern of the two points is labelled above it and the other below, so the labels point away from
  // each other and never overlap (an alarm just south of home would otherwise have its label on home's).
  const alarmNorth = !elder?.home_location || !call.position || call.position.lat >= elder.home_location.lat;
  if (elder?.home_location) {
    layers.push(
      L.circleMarker(latLng(elder.home_location), { className: 'marker-home', radius: 8, color: '#1565c0', fillOpacity: 0.9 })
        .bindTooltip(t('map_home'), { permanent: true, direction: alarmNorth ? 'bottom' : 'top' }),
    );
  }
  if (call.position) {
    layers.push(
      L.circleMarker(latLng(call.position), { className: 'marker-alarm', radius: 11, color: '#c62828', weight: 3, fillOpacity: 0.7 })
        .bindTooltip(t('map_alarm'), { permanent: true, direction: alarmNorth ? 'top' : 'bottom' }),
    );
  }
  return layers;
}

function nearestFirst(providers) {
  return [...providers].sort((a, b) => a.distance_m - b.distance_m);
}

function Legend({ providers, accepted, t }) {
  const items = [
    ['alarm', t('map_alarm')], ['home', t('map_home')], ['safe-area', t('map_safe_area')], ['provider', t('map_provider')],
  ];
  return html`
    <ul class="map-legend" data-testid="map-legend" aria-label=${t('map_legend')}>
      ${items.map(([kind, label]) => html`<li key=${kind}><span class=${`swatch swatch-${kind}`}></span>${label}</li>`)}
      ${accepted && html`<li data-testid="map-accepted"><span class="swatch swatch-accepted"></span>${t('map_accepted')}: ${acceptedLabel(accepted, t)}</li>`}
    </ul>
    <ol class="map-providers" data-testid="map-providers">
      ${nearestFirst(providers).map((p) => html`<li key=${p.id}><span translate=${false}>${p.name}</span> · ${kilometres(p.distance_m)}</li>`)}
    </ol>`;
}

export function CallMap({ call, elder, providers, accepted, config, t }) {
  const container = useRef(null);
  const state = useRef({});

  useEffect(() => {
    const map = L.map(container.current, { zoomControl: false, attributionControl: Boolean(config.tile_url) });
    L.control.zoom({ zoomInTitle: t('zoom_in'), zoomOutTitle: t('zoom_out') }).addTo(map);
    if (config.tile_url) L.tileLayer(config.tile_url, { attribution: config.tile_attribution, maxZoom: 19 }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    state.current = { map, group: L.featureGroup().addTo(map) };
    return () => map.remove();
  }, [config.tile_url, t]);

  // Drawn again only when what it shows changes: a refetched call brings new objects with the same places,
  // and every redraw leaves the old labels fading out beside the new ones for a moment.
  const shown = JSON.stringify([
    call.position, elder?.home_location, elder?.safe_area, accepted,
    providers.map((p) => [p.id, p.name, p.distance_m, p.base_location]),
  ]);
  useEffect(() => {
    const { map, group } = state.current;
    group.clearLayers();
    for (const layer of layersOf({ call, elder, providers, accepted, t })) group.addLayer(layer);
    const focus = call.position || elder?.home_location;
    if (elder?.safe_area || providers.length > 0) map.fitBounds(group.getBounds(), { padding: [24, 24], maxZoom: 16 });
    else if (focus) map.setView(latLng(focus), 16);
    else map.setView([0, 0], 1);
  }, [shown, t]);

  return html`
    <div class="map-wrap">
      <div ref=${container} class=${`call-map ${config.tile_url ? '' : 'no-tiles'}`} data-testid="call-map"></div>
      ${config.tile_url ? null : html`<div class="map-note">${t('map_no_tiles')}</div>`}
      <${Legend} providers=${providers} accepted=${accepted} t=${t} />
    </div>`;
}
