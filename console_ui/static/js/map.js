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

function layersOf({ call, elder, providers, t }) {
  const layers = [];
  if (elder?.safe_area) layers.push(safeAreaLayer(elder.safe_area, t('map_safe_area')));
  for (const provider of providers) {
    layers.push(
      L.circleMarker(latLng(provider.base_location), { className: 'marker-provider', radius: 6, color: '#6a1b9a', fillOpacity: 0.8 })
        .bindTooltip(`${provider.name} · ${(provider.distance_m / 1000).toFixed(1)} km`),
    );
  }
  if (elder?.home_location) {
    layers.push(
      L.circleMarker(latLng(elder.home_location), { className: 'marker-home', radius: 8, color: '#1565c0', fillOpacity: 0.9 })
        .bindTooltip(t('map_home'), { permanent: true, direction: 'right' }),
    );
  }
  if (call.position) {
    layers.push(
      L.circleMarker(latLng(call.position), { className: 'marker-alarm', radius: 11, color: '#c62828', weight: 3, fillOpacity: 0.7 })
        .bindTooltip(t('map_alarm'), { permanent: true, direction: 'left' }),
    );
  }
  return layers;
}

export function CallMap({ call, elder, providers, config, t }) {
  const container = useRef(null);
  const state = useRef({});

  useEffect(() => {
    const map = L.map(container.current, { zoomControl: true, attributionControl: Boolean(config.tile_url) });
    if (config.tile_url) L.tileLayer(config.tile_url, { attribution: config.tile_attribution, maxZoom: 19 }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    state.current = { map, group: L.featureGroup().addTo(map) };
    return () => map.remove();
  }, [config.tile_url]);

  useEffect(() => {
    const { map, group } = state.current;
    group.clearLayers();
    for (const layer of layersOf({ call, elder, providers, t })) group.addLayer(layer);
    const focus = call.position || elder?.home_location;
    if (elder?.safe_area || providers.length > 0) map.fitBounds(group.getBounds(), { padding: [24, 24], maxZoom: 16 });
    else if (focus) map.setView(latLng(focus), 16);
    else map.setView([0, 0], 1);
  }, [call.position?.lon, call.position?.lat, elder, providers, t]);

  return html`
    <div class="map-wrap">
      <div ref=${container} class=${`call-map ${config.tile_url ? '' : 'no-tiles'}`} data-testid="call-map"></div>
      ${config.tile_url ? null : html`<div class="map-note">${t('map_no_tiles')}</div>`}
    </div>`;
}
