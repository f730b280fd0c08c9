// A map of a worker's positions, drawn with Leaflet. Only circles and lines are drawn (no
// marker images), and the tiles come from the server's map_tiles setting, which the
// Content-Security-Policy allows as an image source.
//
// Leaflet's script loads on first use, in a chunk of its own, so that the board does not
// pay for it; its stylesheet (4 KiB gzipped) is in the console's one CSS file, since a
// lazily loaded chunk's CSS would need a <link> of its own. esbuild takes Leaflet's
// CommonJS build, hence `default`.
import 'leaflet/dist/leaflet.css';

let leaflet = null;
function loadLeaflet() {
    if (!leaflet) leaflet = import('leaflet').then((m) => m.default || m);
    return leaflet;
}

// Leaflet writes the attribution as HTML; the setting is plain text.
function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({
        '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
    })[c]);
}

const TRAIL_STYLE = { color: '#0b5394', weight: 3, opacity: 0.8 };
const POINT_STYLE = { radius: 4, color: '#0b5394', weight: 2, fillColor: '#ffffff', fillOpacity: 1 };
const LATEST_STYLE = { radius: 9, color: '#b3001b', weight: 3, fillColor: '#b3001b', fillOpacity: 0.45 };

// Draws points ({latitude, longitude, label}, oldest first) into container: a line through
// them, a circle on each, the last one larger and red. Returns a function removing the map.
export async function drawTrail(container, { tiles, attribution, points }) {
    const L = await loadLeaflet();
    const map = L.map(container, { scrollWheelZoom: false });
    // Tile servers such as OpenStreetMap's ask for a Referer naming the site; the pages
    // themselves send none (Referrer-Policy: no-referrer), so the tiles say only the origin.
    L.tileLayer(tiles, {
        maxZoom: 19,
        attribution: escapeHtml(attribution || ''),
        referrerPolicy: 'strict-origin-when-cross-origin',
    }).addTo(map);
    const latLngs = points.map((p) => [p.latitude, p.longitude]);
    if (latLngs.length > 1) L.polyline(latLngs, TRAIL_STYLE).addTo(map);
    points.forEach((p, i) => {
        const last = i === points.length - 1;
        L.circleMarker(latLngs[i], last ? LATEST_STYLE : POINT_STYLE)
            .bindTooltip(escapeHtml(p.label || ''))
            .addTo(map);
    });
    if (latLngs.length > 1) map.fitBounds(L.latLngBounds(latLngs), { maxZoom: 17, padding: [24, 24] });
    else if (latLngs.length) map.setView(latLngs[0], 17);
    return () => map.remove();
}
