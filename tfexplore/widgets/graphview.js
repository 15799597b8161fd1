// GraphView front end: draws the layout Python sends (trait `scene`) as SVG.
// Pan by dragging, zoom with the wheel, click a scope (or group) to open/close it, click an op
// to select it; a call op's detail leads into its function's body, the breadcrumb leads back.
// All graph logic lives in Python (tfexplore.ui.graphview); this module only draws and forwards.
// Python owns the texts, their places and their sizes: each box comes with its label as drawn
// (`text`) and where it goes (`text_at`, `text_anchor`), a scope's op count as drawn
// (`count_text`, `count_text_at`, `count_anchor`), each edge with where its count goes
// (`count_at`), the scene with `params` (font sizes, char width, the smallest zoom the view's
// own moves may leave, `min_scale`). Nothing here measures or cuts a text.

const SVG = "http://www.w3.org/2000/svg";
const MINIMAP = { width: 160, height: 110 };

function svgElement(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function htmlElement(tag, className = "", text = "", parent = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

// A name that may wrap after its separators (`train/Adam/update_layer1/W`), not mid-word.
function nameText(node, text) {
  node.replaceChildren();
  for (const piece of String(text).split(/(?<=[/_.:])/)) {
    node.append(piece);
    node.appendChild(document.createElement("wbr"));
  }
  return node;
}

function nameElement(tag, className, text, parent) {
  return nameText(htmlElement(tag, className, "", parent), text);
}

// JupyterLab and Notebook 7 say which kind of theme is on; elsewhere the page's background does.
function isDark(el) {
  const flag = document.body.dataset.jpThemeLight;
  if (flag === "true" || flag === "false") return flag === "false";
  const m = getComputedStyle(el).backgroundColor.match(/[\d.]+/g);
  if (!m || (m.length > 3 && Number(m[3]) === 0)) return false;
  const [r, g, b] = m.map(Number);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b < 128;
}

// Straight ends, smooth bends: quadratic curves through the midpoints of the polyline.
function pathData(points) {
  const [first, ...rest] = points;
  const parts = [`M${first[0]},${first[1]}`];
  for (let i = 0; i + 1 < rest.length; i++) {
    const [x1, y1] = rest[i];
    const [x2, y2] = rest[i + 1];
    parts.push(`Q${x1},${y1} ${(x1 + x2) / 2},${(y1 + y2) / 2}`);
  }
  const last = rest[rest.length - 1];
  parts.push(`L${last[0]},${last[1]}`);
  return parts.join(" ");
}

// The box drawn 3 px behind a scope's (a path, so that a scope's first `rect` is its box).
function stackPath(box) {
  const [x, y, w, h, r] = [box.x + 3, box.y + 3, box.width, box.height, 3];
  return `M${x + r},${y} H${x + w - r} Q${x + w},${y} ${x + w},${y + r} V${y + h - r} Q${x + w},${y + h} ${x + w - r},${y + h} H${x + r} Q${x},${y + h} ${x},${y + h - r} V${y + r} Q${x},${y} ${x + r},${y} Z`;
}

function drawScene(layer, scene, state) {
  layer.replaceChildren();
  const lit = new Set(state.highlight);
  const litEdges = new Set(state.highlightEdges);
  const dark = state.dark;
  const frames = scene.boxes.filter((b) => b.expanded).sort((a, b) => a.depth - b.depth);
  for (const box of frames) {
    const g = svgElement("g", { class: `tfx-frame tfx-frame-${box.kind}`, "data-id": box.id }, layer);
    if (box.kind === "group") g.classList.add("tfx-group-frame");
    if (box.quiet) g.classList.add("tfx-quiet");
    if (lit.has(box.id)) g.classList.add("tfx-lit");
    svgElement("rect", { x: box.x, y: box.y, width: box.width, height: box.height, rx: 6 }, g);
    const title = svgElement("text", { x: box.text_at[0], y: box.text_at[1], class: "tfx-frame-label", "text-anchor": box.text_anchor }, g);
    title.textContent = box.text;
    const count = svgElement("text", { x: box.count_text_at[0], y: box.count_text_at[1], class: "tfx-count", "text-anchor": box.count_anchor }, g);
    count.textContent = box.count_text;
    if (box.overlay_title) svgElement("title", {}, g).textContent = `${box.name}/\n${box.overlay_title}`;
  }
  for (const edge of scene.edges) {
    const g = svgElement("g", { class: "tfx-edge" }, layer);
    if (edge.control) g.classList.add("tfx-control");
    if (edge.quiet) g.classList.add("tfx-quiet");
    if (litEdges.has(edge.index)) g.classList.add("tfx-lit");
    const width = 1 + Math.sqrt(Math.min(edge.count, 64)) * 0.5;
    svgElement("path", { d: pathData(edge.points), "stroke-width": width, "marker-end": "url(#tfx-arrow)" }, g);
    if (edge.count_at) {
      const label = svgElement("text", { x: edge.count_at[0], y: edge.count_at[1], class: "tfx-edge-count" }, g);
      label.textContent = edge.count;
    }
    svgElement("title", {}, g).textContent = `${edge.src} → ${edge.dst}: ${edge.count} ${edge.control ? "control" : "tensor"}${edge.count > 1 ? "s" : ""}`;
  }
  for (const box of scene.boxes.filter((b) => !b.expanded)) {
    const g = svgElement("g", { class: `tfx-node tfx-${box.kind}`, "data-id": box.id, "data-name": box.name }, layer);
    if (lit.has(box.id)) g.classList.add("tfx-lit");
    if (box.quiet) g.classList.add("tfx-quiet");
    if (box.overlay_value !== undefined && box.overlay_value !== null) g.dataset.overlay = box.overlay_value;
    // an op is selected by its name, a scope by its id (`name/`): a scope never lights up for
    // the op of the same name inside it
    if (box.id === state.selected || (box.kind === "op" && box.name === state.selected)) g.classList.add("tfx-selected");
    const fill = (dark ? box.fill_dark : box.fill) || "var(--tfx-frame-fill)";
    const radius = box.kind === "op" ? box.height / 2 : 3;
    if (box.kind !== "op") { // a scope or group is a stack of boxes: one drawn behind it
      svgElement("path", { d: stackPath(box), fill, class: "tfx-stack" }, g);
    }
    svgElement("rect", { x: box.x, y: box.y, width: box.width, height: box.height, rx: radius, fill, class: "tfx-box" }, g);
    if (box.kind !== "op") {
      let x = box.x + 4;
      for (const [color, fraction, colorDark] of box.mix || []) {
        const w = (box.width - 8) * fraction;
        svgElement("rect", { x, y: box.y + box.height - 5, width: w, height: 3, fill: dark ? colorDark : color, class: "tfx-mix" }, g);
        x += w;
      }
    }
    svgElement("text", { x: box.text_at[0], y: box.text_at[1], "text-anchor": box.text_anchor }, g).textContent = box.text;
    if (box.count_text !== null && box.count_text !== undefined) {
      svgElement("text", { x: box.count_text_at[0], y: box.count_text_at[1], "text-anchor": box.count_anchor, class: "tfx-count" }, g).textContent = box.count_text;
    }
    const tip = box.kind === "op" ? `${box.name} (${box.op_type})` : `${box.name}/ : ${box.kind === "group" ? "a group of" : "a scope of"} ${box.op_count} ops — click to open`;
    svgElement("title", {}, g).textContent = box.overlay_title ? `${tip}\n${box.overlay_title}` : tip;
  }
}

// The overview: every box of the layout, small, and the part on screen; a click moves there.
function drawMinimap(svg, scene, dark) {
  svg.replaceChildren();
  const scale = Math.min(MINIMAP.width / Math.max(scene.width, 1), MINIMAP.height / Math.max(scene.height, 1));
  svg.setAttribute("width", Math.max(scene.width * scale, 24));
  svg.setAttribute("height", Math.max(scene.height * scale, 24));
  const g = svgElement("g", { transform: `scale(${scale})` }, svg);
  for (const box of scene.boxes) {
    if (box.quiet) continue; // hidden by "only changes"
    const attrs = { x: box.x, y: box.y, width: box.width, height: box.height, "data-id": box.id };
    if (box.expanded) svgElement("rect", { ...attrs, class: "tfx-minimap-frame" }, g);
    else svgElement("rect", { ...attrs, fill: (dark ? box.fill_dark : box.fill) || "gray" }, g);
  }
  const lens = svgElement("rect", { class: "tfx-minimap-view" }, svg);
  return { scale, lens };
}

function tensorRow(list, entry, onReveal, extra = "") {
  const li = htmlElement("li", "", "", list);
  const link = nameElement("a", "tfx-link", entry.tensor || entry, li);
  link.href = "#";
  link.addEventListener("click", (event) => {
    event.preventDefault();
    onReveal(entry.op || String(entry.tensor || entry).replace(/^\^/, "").replace(/:\d+$/, ""));
  });
  const facts = [entry.dtype, entry.shape].filter(Boolean).join(" ");
  if (facts) htmlElement("span", "tfx-muted", ` ${facts}`, li);
  if (extra) htmlElement("span", "tfx-muted", extra, li);
}

function section(panel, title, items, fill) {
  if (!items || items.length === 0) return;
  htmlElement("h4", "", title, panel);
  const list = htmlElement("ul", "", "", panel);
  for (const item of items) fill(list, item);
}

// The overlay's value of the selected op or scope: one line under its facts.
function drawOverlayFact(panel, overlay) {
  if (!overlay) return;
  const p = htmlElement("p", "tfx-overlay-fact", "", panel);
  htmlElement("b", "", `${overlay.title}: `, p);
  p.append(String(overlay.value));
}

// A compare view: both sides of the selected op, a row per field, changed rows marked.
function drawCompare(panel, compare) {
  if (!compare) return;
  htmlElement("h4", "", `Compared: ${compare.status}`, panel);
  if (compare.detail) htmlElement("p", "tfx-muted", compare.detail, panel);
  const table = htmlElement("table", "tfx-compare", "", panel);
  const head = htmlElement("tr", "", "", htmlElement("thead", "", "", table));
  for (const title of ["", "a (before)", "b (after)"]) htmlElement("th", "", title, head);
  const body = htmlElement("tbody", "", "", table);
  for (const row of compare.rows) {
    const tr = htmlElement("tr", row.changed ? "tfx-compare-changed" : "", "", body);
    htmlElement("th", "", row.key, tr);
    for (const side of [row.a, row.b]) {
      const td = nameElement("td", side === null ? "tfx-muted" : "", side === null ? "—" : side, tr);
      td.dataset.side = side === null ? "absent" : "present";
    }
  }
}

// The overlay's legend: its title, then a colour bar with the bin edges under it (numbers)
// or a swatch per category, and the colour of "no value".
function drawOverlayLegend(legend, data, dark, onClear) {
  const head = htmlElement("div", "tfx-legend-title", "", legend);
  const how = data.kind === "numeric" ? ` (${data.scale} scale, scopes: ${data.agg})` : "";
  htmlElement("b", "", data.title, head);
  htmlElement("span", "tfx-muted", how, head);
  if (data.unmatched) { // keys of the Series that named no op of this graph
    const missed = htmlElement("span", "tfx-muted tfx-unmatched", ` · ${data.unmatched} name${data.unmatched > 1 ? "s" : ""} not in this graph`, head);
    missed.title = "view.overlay(...).unmatched lists them";
  }
  if (data.kind === "numeric") {
    const scale = htmlElement("div", "tfx-scale", "", legend);
    scale.style.width = `${data.bins.length * 62}px`; // room for each edge's number
    const bar = htmlElement("div", "tfx-scale-bar", "", scale);
    for (const bin of data.bins) {
      const cell = htmlElement("span", "tfx-scale-bin", "", bar);
      cell.style.background = dark ? bin.color_dark : bin.color;
      cell.title = bin.label;
    }
    const ticks = htmlElement("div", "tfx-scale-ticks", "", scale);
    data.ticks.forEach((tick, i) => {
      const t = htmlElement("span", "tfx-tick", tick, ticks);
      t.style.left = `${(100 * i) / data.bins.length}%`;
    });
  } else {
    for (const row of data.categories) {
      const item = htmlElement("div", "tfx-legend-row", "", legend);
      htmlElement("span", "tfx-swatch", "", item).style.background = dark ? row.color_dark : row.color;
      htmlElement("span", "", `${row.label} (${row.count})`, item);
    }
  }
  const none = htmlElement("div", "tfx-legend-row", "", legend);
  htmlElement("span", "tfx-swatch", "", none).style.background = dark ? data.no_value.color_dark : data.no_value.color;
  htmlElement("span", "tfx-muted", "no value", none);
  const clear = htmlElement("button", "tfx-clear-overlay", "× clear overlay", legend);
  clear.addEventListener("click", onClear);
}

function drawDetail(panel, detail, actions) {
  panel.replaceChildren();
  if (!detail || !detail.kind) {
    htmlElement("p", "tfx-muted", "Click a node to see its details; click a scope to open it.", panel);
    return;
  }
  nameElement("h3", "tfx-detail-name", detail.name, panel);
  if (detail.kind === "scope" || detail.kind === "group") {
    const what = detail.kind === "group" ? `${detail.group_kind} of ${detail.children} · ` : "scope · ";
    htmlElement("p", "", `${what}${detail.op_count} ops`, panel);
    drawOverlayFact(panel, detail.overlay);
    section(panel, "Op types", Object.entries(detail.op_types), (list, [type, n]) => htmlElement("li", "", `${type} × ${n}`, list));
    section(panel, "Sub-scopes", detail.child_scopes, (list, s) => nameElement("li", "", s, list));
    if (detail.kind === "group") section(panel, "First members", detail.first_children, (list, s) => nameElement("li", "", s, list));
    return;
  }
  htmlElement("p", "tfx-facts", [detail.op, detail.role, detail.device].filter(Boolean).join(" · "), panel);
  drawOverlayFact(panel, detail.overlay);
  drawCompare(panel, detail.compare);
  const buttons = htmlElement("div", "tfx-buttons", "", panel);
  for (const [label, direction] of [["Trace inputs", "inputs"], ["Trace outputs", "outputs"]]) {
    const b = htmlElement("button", "", label, buttons);
    b.addEventListener("click", () => actions.send({ action: "trace", name: detail.name, direction }));
  }
  htmlElement("button", "", "Clear", buttons).addEventListener("click", () => actions.send({ action: "clear" }));
  section(panel, "Calls", detail.calls, (list, call) => {
    const li = htmlElement("li", "", "", list);
    const open = htmlElement("button", "tfx-open-function", `Open function body ↘ ${call.name}`, li);
    open.dataset.name = call.name;
    open.title = `${call.attr}: ${call.name} (${call.op_count} ops)`;
    open.addEventListener("click", () => actions.send({ action: "open_function", name: call.name }));
    htmlElement("span", "tfx-muted", ` ${call.attr} · ${call.op_count} ops`, li);
  });
  section(panel, "Inputs", detail.inputs, (list, t) => tensorRow(list, t, actions.reveal));
  section(panel, "Control inputs", detail.control_inputs, (list, t) => tensorRow(list, { tensor: "^" + t, op: t }, actions.reveal));
  section(panel, "Outputs", detail.outputs, (list, t) => {
    tensorRow(list, { ...t, op: detail.name }, actions.reveal, t.consumers.length ? ` → ${t.consumers.length} consumer${t.consumers.length > 1 ? "s" : ""}` : "");
    const sub = htmlElement("ul", "", "", list);
    for (const consumer of t.consumers.slice(0, 12)) tensorRow(sub, { tensor: consumer, op: consumer }, actions.reveal);
  });
  section(panel, "Control dependants", detail.control_consumers, (list, t) => tensorRow(list, { tensor: t, op: t }, actions.reveal));
  section(panel, "Collections", detail.collections, (list, c) => nameElement("li", "", c, list));
  if (detail.variable) {
    section(panel, "Value in checkpoint", Object.entries(detail.variable), (list, [k, v]) => htmlElement("li", "", `${k}: ${typeof v === "number" ? Number(v.toPrecision(5)) : v}`, list));
  }
  if (detail.attrs && typeof detail.attrs === "object") {
    section(panel, "Attributes", Object.entries(detail.attrs), (list, [k, v]) => nameElement("li", "", `${k} = ${v}`, list));
  } else if (detail.attrs) {
    section(panel, "Attributes", [detail.attrs], (list, v) => htmlElement("li", "", v, list));
  }
}

function render({ model, el }) {
  const handlers = [];
  const listen = (event, fn) => { model.on(event, fn); handlers.push([event, fn]); };
  const save = (key, value) => { model.set(key, value); model.save_changes(); };
  const send = (message) => model.send(message);

  el.classList.add("tfx-graph");
  // A live view draws here: hide the static pictures of this model that a saved page keeps
  // beside it (see GraphView._ipython_display_ in graphview.py).
  const staticKey = model.get("_static_key");
  if (staticKey) {
    el.dataset.tfxLive = staticKey;
    for (const picture of document.querySelectorAll(`[data-tfx-static="${staticKey}"]`)) picture.style.display = "none";
  }
  const toolbar = htmlElement("div", "tfx-toolbar", "", el);
  const searchBox = htmlElement("input", "tfx-search", "", toolbar);
  searchBox.placeholder = "Search ops (or op:MatMul)";
  searchBox.setAttribute("aria-label", "Search ops");
  searchBox.value = model.get("search_query");
  const searchNote = htmlElement("span", "tfx-search-note", "", toolbar);
  searchNote.setAttribute("role", "status");
  const colorBy = htmlElement("select", "tfx-color-by", "", toolbar);
  for (const [value, label] of [["op", "colour: op type"], ["device", "colour: device"], ["role", "colour: role"]]) {
    const option = htmlElement("option", "", label, colorBy);
    option.value = value;
  }
  const collectionBox = htmlElement("select", "tfx-collection", "", toolbar);
  const functionBox = htmlElement("select", "tfx-functions", "", toolbar);
  const onlyLabel = htmlElement("label", "tfx-only-changes", "", toolbar);
  const onlyBox = htmlElement("input", "", "", onlyLabel);
  onlyBox.type = "checkbox";
  onlyLabel.append(" only changes");
  onlyLabel.title = "Hide the ops and scopes where nothing changed";
  const fitButton = htmlElement("button", "tfx-fit", "Fit", toolbar);
  fitButton.title = "Show as much as fits with text still readable (the overview shows the rest)";
  const summary = htmlElement("div", "tfx-compare-summary", "", el);
  const legend = htmlElement("div", "tfx-legend", "", el);
  const errorBar = htmlElement("div", "tfx-error", "", el);
  const crumbs = htmlElement("div", "tfx-crumbs", "", el);
  const body = htmlElement("div", "tfx-body", "", el);
  const stage = htmlElement("div", "tfx-stage", "", body);
  const matchList = htmlElement("ul", "tfx-matches", "", stage);
  const panel = htmlElement("div", "tfx-detail", "", body);
  const svg = svgElement("svg", { class: "tfx-svg" }, stage);
  const defs = svgElement("defs", {}, svg);
  const marker = svgElement("marker", { id: "tfx-arrow", viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto" }, defs);
  svgElement("path", { d: "M0,0 L8,4 L0,8 z", class: "tfx-arrowhead" }, marker);
  const viewport = svgElement("g", { class: "tfx-viewport" }, svg);
  const overview = htmlElement("div", "tfx-minimap", "", stage);
  overview.title = "Overview: click or drag to move there";
  const overviewSvg = svgElement("svg", {}, overview);
  let minimap = null;

  // view: the zoom and pan; `moved`: the person (or a focus) moved it since the first view,
  // which a new layout (a viewport report, a colour change) then keeps
  const view = { scale: 1, x: 0, y: 0, fitted: false, moved: false, graph: model.get("current_function") };
  let anchor = null; // keep a clicked scope where it was on screen across re-layouts
  let dark = isDark(el);
  el.classList.toggle("tfx-dark", dark);

  const params = () => model.get("scene").params || {};
  const minScale = () => params().min_scale || 1;
  const margin = () => params().margin ?? 16; // px kept free around what is brought into view
  const stageSize = () => {
    const { width, height } = stage.getBoundingClientRect();
    return { width, height };
  };
  const updateMinimap = () => {
    const scene = model.get("scene");
    const { width, height } = stageSize();
    const w = scene.width * view.scale, h = scene.height * view.scale;
    const fits = view.x >= -1 && view.y >= -1 && view.x + w <= width + 1 && view.y + h <= height + 1;
    overview.style.display = !scene.boxes || !scene.boxes.length || fits ? "none" : "block";
    if (!minimap || fits) return;
    const s = minimap.scale;
    const x = Math.max(-view.x / view.scale, 0);
    const y = Math.max(-view.y / view.scale, 0);
    const right = Math.min((width - view.x) / view.scale, scene.width);
    const bottom = Math.min((height - view.y) / view.scale, scene.height);
    for (const [key, value] of Object.entries({ x: x * s, y: y * s, width: Math.max(right - x, 0) * s, height: Math.max(bottom - y, 0) * s })) {
      minimap.lens.setAttribute(key, value);
    }
  };
  const applyView = () => {
    viewport.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.scale})`);
    svg.dataset.scale = view.scale.toFixed(3);
    updateMinimap();
  };
  // As much of the graph as fits with every text at least `min_text_px` on screen: the
  // whole graph when it fits, else its top left (where data enters); the overview shows it all.
  const fit = () => {
    const scene = model.get("scene");
    const { width, height } = stageSize();
    if (!scene.width || !width || !height) return;
    const MARGIN = margin();
    // "only changes": fit what is shown (Python sends its bounds), not the hidden rest
    const b = scene.shown_bounds || { x: 0, y: 0, width: scene.width, height: scene.height };
    const whole = Math.min((width - 2 * MARGIN) / b.width, (height - 2 * MARGIN) / b.height);
    view.scale = Math.min(Math.max(whole, minScale()), 1.25);
    const w = b.width * view.scale;
    const h = b.height * view.scale;
    view.x = (w <= width ? (width - w) / 2 : MARGIN) - b.x * view.scale;
    view.y = (h <= height ? (height - h) / 2 : MARGIN / 2) - b.y * view.scale;
    view.fitted = true;
    applyView();
    const focus = model.get("focus");
    if (!view.moved && focus && focus.id) bringIntoView(focus.id, !focus.id.endsWith("/"), false);
  };
  // Bring box `id` into view at a readable zoom: `centre` it, or pan as little as shows it
  // whole (its top left when it is larger than the stage).
  // (`byPerson`: false for the first view's focus, which a new layout then applies again)
  const bringIntoView = (id, centre, byPerson = true) => {
    const box = model.get("scene").boxes.find((b) => b.id === id);
    if (!box) return;
    const { width, height } = stageSize();
    if (!width) return;
    const MARGIN = margin();
    view.scale = Math.max(view.scale, minScale());
    const s = view.scale;
    if (centre) {
      view.x = width / 2 - (box.x + box.width / 2) * s;
      view.y = height / 2 - (box.y + box.height / 2) * s;
    } else {
      const left = view.x + box.x * s, top = view.y + box.y * s;
      const right = left + box.width * s, bottom = top + box.height * s;
      if (box.width * s > width - 2 * MARGIN || left < MARGIN) view.x += MARGIN - left;
      else if (right > width - MARGIN) view.x -= right - (width - MARGIN);
      if (box.height * s > height - 2 * MARGIN || top < MARGIN) view.y += MARGIN - top;
      else if (bottom > height - MARGIN) view.y -= bottom - (height - MARGIN);
    }
    view.fitted = true;
    view.moved = view.moved || byPerson;
    applyView();
  };

  // `sceneChanged`: a new layout (a clicked scope's anchor applies to it only)
  const redraw = (sceneChanged = false) => {
    const scene = model.get("scene");
    if ((scene.function || "") !== view.graph) { // another graph: fit it afresh
      view.graph = scene.function || "";
      view.fitted = false;
      view.moved = false;
      anchor = null;
    }
    // text sizes as the layout planned them (LayoutParams.font_size, small_font_size)
    if (scene.params) {
      el.style.setProperty("--tfx-font-size", `${scene.params.font_size}px`);
      el.style.setProperty("--tfx-small-font-size", `${scene.params.small_font_size}px`);
    }
    drawScene(viewport, scene, {
      highlight: model.get("highlight"),
      highlightEdges: model.get("highlight_edges"),
      selected: model.get("selected"),
      dark,
    });
    minimap = drawMinimap(overviewSvg, scene, dark);
    if (anchor && sceneChanged) {
      const box = scene.boxes.find((b) => b.id === anchor.id);
      if (box) {
        view.x = anchor.sx - box.x * view.scale;
        view.y = anchor.sy - box.y * view.scale;
        applyView();
        if (box.expanded) bringIntoView(box.id, false); // an opened scope shows its content
      }
      anchor = null;
    } else if (!view.fitted || (!view.moved && !anchor)) {
      fit();
    } else {
      applyView();
    }
  };
  const drawLegend = () => {
    legend.replaceChildren();
    const overlay = model.get("overlay_legend");
    legend.classList.toggle("tfx-overlay-legend", Boolean(overlay && overlay.title));
    colorBy.disabled = Boolean(overlay && overlay.title);
    if (overlay && overlay.title) {
      drawOverlayLegend(legend, overlay, dark, () => send({ action: "clear_overlay" }));
      return;
    }
    for (const row of model.get("legend")) {
      const item = htmlElement("div", "tfx-legend-row", "", legend);
      htmlElement("span", "tfx-swatch", "", item).style.background = (dark && row.color_dark) || row.color;
      htmlElement("span", "", `${row.label} (${row.count})`, item);
    }
  };
  const drawCompare = () => {
    const text = model.get("compare_summary");
    summary.textContent = text ? `Compare: ${text}` : "";
    summary.style.display = text ? "block" : "none";
    onlyLabel.style.display = text ? "inline-flex" : "none";
    onlyBox.checked = model.get("only_changes");
    el.classList.toggle("tfx-only", model.get("only_changes"));
  };
  const drawCollections = () => {
    collectionBox.replaceChildren();
    const none = htmlElement("option", "", "highlight collection…", collectionBox);
    none.value = "";
    for (const c of model.get("collections")) {
      const option = htmlElement("option", "", `${c.name} (${c.count})`, collectionBox);
      option.value = c.name;
    }
    collectionBox.value = model.get("collection");
  };
  const drawFunctions = () => {
    functionBox.replaceChildren();
    const functions = model.get("functions");
    functionBox.style.display = functions.length ? "" : "none";
    htmlElement("option", "", `main graph · ${functions.length} functions`, functionBox).value = "";
    for (const f of functions) {
      htmlElement("option", "", `${f.name} (${f.op_count} ops)`, functionBox).value = f.name;
    }
    functionBox.value = model.get("current_function");
  };
  const drawCrumbs = () => {
    crumbs.replaceChildren();
    const stack = model.get("function_stack");
    crumbs.style.display = stack.length ? "flex" : "none";
    const back = htmlElement("button", "tfx-back", "◂ Back", crumbs);
    back.addEventListener("click", () => send({ action: "back" }));
    const names = ["main graph", ...stack];
    names.forEach((name, depth) => {
      if (depth) htmlElement("span", "tfx-muted", "›", crumbs);
      if (depth === names.length - 1) {
        htmlElement("span", "tfx-crumb tfx-crumb-here", name, crumbs);
      } else {
        const link = htmlElement("a", "tfx-crumb tfx-link", name, crumbs);
        link.href = "#";
        link.addEventListener("click", (event) => { event.preventDefault(); send({ action: "back", depth }); });
      }
    });
    functionBox.value = model.get("current_function");
  };
  const drawMatches = () => {
    matchList.replaceChildren();
    const matches = model.get("matches");
    matchList.style.display = matches.length && searchBox.value ? "block" : "none";
    for (const name of matches.slice(0, 12)) {
      const li = nameElement("li", "tfx-match", name, matchList);
      li.addEventListener("click", () => send({ action: "reveal", name }));
    }
  };
  const drawSearchNote = () => {
    const note = searchBox.value ? model.get("search_note") : "";
    searchNote.textContent = note;
    searchNote.style.display = note ? "" : "none";
    searchNote.classList.toggle("tfx-no-match", note.startsWith("no match"));
  };
  const actions = { send, reveal: (name) => send({ action: "reveal", name }) };
  const showDetail = () => drawDetail(panel, model.get("detail"), actions);
  const showError = () => {
    errorBar.textContent = model.get("error");
    errorBar.style.display = model.get("error") ? "block" : "none";
  };
  const setHeight = () => { body.style.height = `${model.get("height")}px`; };

  // Pointer: drag pans; a click without movement selects an op or toggles a scope.
  let drag = null;
  const onDown = (event) => {
    matchList.style.display = "none";
    drag = { x: event.clientX, y: event.clientY, vx: view.x, vy: view.y, moved: false };
    svg.setPointerCapture(event.pointerId);
  };
  const onMove = (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (drag.moved) {
      view.x = drag.vx + dx;
      view.y = drag.vy + dy;
      view.moved = true;
      applyView();
    }
  };
  const onUp = (event) => {
    const wasDrag = drag && drag.moved;
    drag = null;
    if (wasDrag) return;
    const target = document.elementFromPoint(event.clientX, event.clientY);
    const group = target && target.closest("[data-id]");
    if (!group) return;
    const id = group.getAttribute("data-id");
    const box = model.get("scene").boxes.find((b) => b.id === id);
    if (!box) return;
    if (box.kind !== "op" && (!box.expanded || target.closest(".tfx-frame-label"))) {
      anchor = { id, sx: view.x + box.x * view.scale, sy: view.y + box.y * view.scale };
      view.moved = true;
      save("selected", id);
      send({ action: "toggle", id });
    } else if (box.kind === "op") {
      save("selected", box.name);
    }
  };
  const onWheel = (event) => {
    event.preventDefault();
    const rect = svg.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const factor = Math.exp(-event.deltaY * 0.0015);
    const scale = Math.min(Math.max(view.scale * factor, 0.05), 4); // the person may zoom out
    view.x = px - ((px - view.x) * scale) / view.scale;
    view.y = py - ((py - view.y) * scale) / view.scale;
    view.scale = scale;
    view.moved = true;
    applyView();
  };
  // The overview: a click (or drag) there centres the view on that point.
  let overviewDrag = false;
  const moveTo = (event) => {
    if (!minimap) return;
    const rect = overviewSvg.getBoundingClientRect();
    const lx = (event.clientX - rect.left) / minimap.scale;
    const ly = (event.clientY - rect.top) / minimap.scale;
    const { width, height } = stageSize();
    view.x = width / 2 - lx * view.scale;
    view.y = height / 2 - ly * view.scale;
    view.moved = true;
    applyView();
  };
  overview.addEventListener("pointerdown", (event) => { overviewDrag = true; overview.setPointerCapture(event.pointerId); moveTo(event); event.stopPropagation(); });
  overview.addEventListener("pointermove", (event) => { if (overviewDrag) moveTo(event); });
  overview.addEventListener("pointerup", () => { overviewDrag = false; });
  svg.addEventListener("pointerdown", onDown);
  svg.addEventListener("pointermove", onMove);
  svg.addEventListener("pointerup", onUp);
  svg.addEventListener("wheel", onWheel, { passive: false });
  fitButton.addEventListener("click", () => { fit(); view.moved = true; });
  let searchTimer = null;
  searchBox.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchNote.style.display = "none"; // until the kernel answers this text
    searchTimer = setTimeout(() => save("search_query", searchBox.value), 250);
  });
  searchBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { clearTimeout(searchTimer); save("search_query", searchBox.value); }
  });
  onlyBox.addEventListener("change", () => { view.moved = false; save("only_changes", onlyBox.checked); });
  colorBy.value = model.get("color_by");
  colorBy.addEventListener("change", () => save("color_by", colorBy.value));
  collectionBox.addEventListener("change", () => save("collection", collectionBox.value));
  functionBox.addEventListener("change", () => save("current_function", functionBox.value));

  listen("change:scene", () => redraw(true));
  listen("change:highlight", () => redraw());
  listen("change:highlight_edges", () => redraw());
  listen("change:selected", () => redraw());
  listen("change:detail", showDetail);
  listen("change:legend", drawLegend);
  listen("change:overlay_legend", drawLegend);
  listen("change:only_changes", drawCompare);
  listen("change:compare_summary", drawCompare);
  listen("change:collections", drawCollections);
  listen("change:collection", drawCollections);
  listen("change:matches", drawMatches);
  listen("change:search_note", drawSearchNote);
  listen("change:search_query", drawSearchNote);
  listen("change:functions", drawFunctions);
  listen("change:function_stack", drawCrumbs);
  listen("change:current_function", drawCrumbs);
  listen("change:error", showError);
  listen("change:height", setHeight);
  listen("change:focus", () => {
    const id = model.get("focus").id;
    bringIntoView(id, !String(id).endsWith("/"));
  });

  setHeight();
  drawCompare();
  drawLegend();
  drawCollections();
  drawFunctions();
  drawCrumbs();
  showDetail();
  showError();
  drawMatches();
  drawSearchNote();
  // Lay out once the element is in the page and has a size; tell the kernel the drawing
  // area's size (the layout takes its shape), again when it changes by more than 5 %.
  let reported = null;
  let reportTimer = null;
  const report = () => {
    const { width, height } = stageSize();
    if (!width || !height) return;
    if (reported && Math.abs(width / reported.width - 1) < 0.05 && Math.abs(height / reported.height - 1) < 0.05) return;
    reported = { width: Math.round(width), height: Math.round(height) };
    save("viewport", reported);
  };
  const resize = new ResizeObserver(() => {
    if (!view.moved) fit(); else updateMinimap();
    clearTimeout(reportTimer);
    reportTimer = setTimeout(report, 150);
  });
  resize.observe(stage);
  // The theme may change while the view is open (Settings > Theme): follow it.
  const themeWatch = new MutationObserver(() => {
    const now = isDark(el);
    if (now === dark) return;
    dark = now;
    el.classList.toggle("tfx-dark", dark);
    drawLegend();
    redraw();
  });
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  redraw();

  return () => {
    for (const [event, fn] of handlers) model.off(event, fn);
    resize.disconnect();
    themeWatch.disconnect();
    clearTimeout(searchTimer);
    clearTimeout(reportTimer);
  };
}

export default { render };
