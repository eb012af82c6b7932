// The admin's parcel map: the county's parcels (or, zoomed out, a grid of cells) from the map layer endpoint,
// refetched for the view after every pan or zoom and colored by the chosen figure in five quantile classes.
(function () {
  "use strict";
  const element = document.getElementById("parcel-map");
  if (!element) return;
  const colorBy = element.dataset.colorBy;
  const status = document.getElementById("map-status");
  const SEQUENTIAL = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];
  const DIVERGING = ["#2c7bb6", "#abd9e9", "#ffffbf", "#fdae61", "#d7191c"];
  const CATEGORIES = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                      "#bcbd22", "#17becf", "#393b79", "#637939"];
  const money = new Intl.NumberFormat("en-US", {style: "currency", currency: "USD", maximumFractionDigits: 0});
  const percent = new Intl.NumberFormat("en-US", {style: "percent", maximumFractionDigits: 1, signDisplay: "always"});

  const map = L.map(element, {preferCanvas: true});
  element.leafletMap = map;  // for the browser test and the console
  if (element.dataset.basemapUrl) L.tileLayer(element.dataset.basemapUrl, {maxZoom: 21}).addTo(map);
  const extent = JSON.parse(element.dataset.extent);
  map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]]);

  let breaks = [];
  const layer = L.geoJSON(null, {style: style, onEachFeature: bind}).addTo(map);
  const legend = L.control({position: "bottomright"});
  legend.onAdd = function () { this.div = L.DomUtil.create("div", "map-legend"); return this.div; };
  legend.addTo(map);

  function figure(properties) {
    if ("parcels" in properties && "mean" in properties) {  // a grid cell
      return colorBy === "neighborhood" ? properties.parcels : properties.mean;
    }
    return colorBy === "neighborhood" ? properties.neighborhood_code : properties[colorBy];
  }
  function categorical(feature) { return colorBy === "neighborhood" && !("mean" in feature.properties); }
  function colorOf(feature) {
    const value = figure(feature.properties);
    if (value === null || value === undefined || value === "") return "#cccccc";
    if (categorical(feature)) {
      let hash = 0;
      for (const c of String(value)) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
      return CATEGORIES[hash % CATEGORIES.length];
    }
    const palette = colorBy === "value_change" ? DIVERGING : SEQUENTIAL;
    let index = 0;
    while (index < breaks.length && value > breaks[index]) index += 1;
    return palette[index];
  }
  function style(feature) {
    const cell = "mean" in feature.properties;
    return {color: cell ? "#ffffff" : "#555555", weight: cell ? 0.5 : 0.6, fillColor: colorOf(feature),
            fillOpacity: 0.75};
  }
  function shown(value, kind) {
    if (value === null || value === undefined || value === "") return "—";
    if (kind === "share") return percent.format(value);
    if (kind === "money") return money.format(value);
    return String(value);
  }
  function bind(feature, target) {
    const p = feature.properties;
    let html;
    if ("mean" in p) {
      html = `<strong>${p.parcels.toLocaleString()} parcels</strong>` + (p.mean === null || p.mean === undefined ? ""
        : `<br>mean: ${shown(p.mean, colorBy === "value_change" ? "share" : "money")}`) + "<br>Zoom in to see them.";
    } else {
      const row = (label, value) => `<tr><th>${label}</th><td>${value}</td></tr>`;
      const text = (value) => String(value ?? "—").replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
      html = `<strong>${text(p.parcel_number)}</strong><table>` +
        row("Address", text(p.situs_address)) + row("Owner", text(p.owner_name)) +
        row("Neighborhood", text(p.neighborhood_code)) + row("Market value", shown(p.market_value, "money")) +
        ("value_change" in p ? row("Change since certified", shown(p.value_change, "share")) : "") +
        row("Last sale", `${shown(p.last_sale_price, "money")} ${text(p.last_sale_date)}`) +
        `</table><a href="${encodeURI(p.admin_url)}">Open the parcel</a>`;
    }
    target.bindPopup(html);
  }
  function quantiles(values) {
    const sorted = values.filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
    if (!sorted.length) return [];
    return [0.2, 0.4, 0.6, 0.8].map((q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  }
  function legendUpdate(data) {
    if (data.features.length && categorical(data.features[0])) {
      legend.div.innerHTML = "Colored by neighborhood";
      return;
    }
    const kind = colorBy === "value_change" ? "share" : (colorBy === "neighborhood" ? "count" : "money");
    const palette = colorBy === "value_change" ? DIVERGING : SEQUENTIAL;
    const label = data.aggregated ? (colorBy === "neighborhood" ? "parcels per cell" : "mean per cell") : "";
    const edges = ["", ...breaks.map((b) => shown(b, kind))];
    legend.div.innerHTML = (label ? `<div>${label}</div>` : "") + palette.map((color, i) =>
      `<div><i style="background:${color}"></i>${i === 0 ? "up to " + (edges[1] || "") :
       (i < edges.length ? "over " + edges[i] : "")}</div>`).join("");
  }

  let pending = null;
  function refresh() {
    if (pending) pending.abort();
    pending = new AbortController();
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
    status.textContent = "Loading…";
    fetch(`${element.dataset.layerUrl}?bbox=${bbox}&color_by=${encodeURIComponent(colorBy)}`,
          {credentials: "same-origin", headers: {Accept: "application/geo+json"}, signal: pending.signal})
      .then((response) => { if (!response.ok) throw new Error(`the server answered ${response.status}`); return response.json(); })
      .then((data) => {
        breaks = quantiles(data.features.map((f) => figure(f.properties)).filter((v) => typeof v === "number"));
        layer.clearLayers();
        layer.addData(data);
        legendUpdate(data);
        element.dataset.drawn = String(data.features.length);
        element.dataset.aggregated = String(data.aggregated);
        status.textContent = `${data.parcels.toLocaleString()} parcels in view` +
          (data.aggregated ? ` (grid of ${data.features.length} cells: zoom in to see each parcel)` : "");
      })
      .catch((error) => { if (error.name !== "AbortError") status.textContent = `Could not load the parcels: ${error.message}`; });
  }
  map.on("moveend", refresh);
  refresh();
})();
