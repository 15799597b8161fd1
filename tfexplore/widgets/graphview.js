// GraphView front end: draws the layout Python sends (trait `scene`) as SVG.
// Pan by dragging, zoom with the wheel, click a scope (or group) to open/close it, click an op
// to select it; a call op's detail leads into its function's body, the breadcrumb leads back.
// All graph logic lives in Python (tfexplore.explorer); this module only draws and forwards.

const SVG = "http://www.w3.org/2000/svg";
const CHAR_WIDTH = 7;

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

function fitLabel(text, width) {
  const room = Math.max(Math.floor(width / CHAR_WIDTH), 1);
  return text.length <= room ? text : "…" + text.slice(text.length - room + 1);
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

function drawScene(layer, scene, state) {
  layer.replaceChildren();
  const lit = new Set(state.highlight);
  const litEdges = new Set(state.highlightEdges);
  const frames = scene.boxes.filter((b) => b.expanded).sort((a, b) => a.depth - b.depth);
  for (const box of frames) {
    const g = svgElement("g", { class: "tfx-frame", "data-id": box.id }, layer);
    if (box.kind === "group") g.classList.add("tfx-group-frame");
    if (lit.has(box.id)) g.classList.add("tfx-lit");
    svgElement("rect", { x: box.x, y: box.y, width: box.width, height: box.height, rx: 6 }, g);
    const title = svgElement("text", { x: box.x + 8, y: box.y + 14, class: "tfx-frame-label" }, g);
    title.textContent = "▾ " + fitLabel(box.label, box.width - 70);
    const count = svgElement("text", { x: box.x + box.width - 8, y: box.y + 14, class: "tfx-count", "text-anchor": "end" }, g);
    count.textContent = `${box.op_count} ops`;
  }
  for (const edge of scene.edges) {
    const g = svgElement("g", { class: "tfx-edge" }, layer);
    if (edge.control) g.classList.add("tfx-control");
    if (litEdges.has(edge.index)) g.classList.add("tfx-lit");
    const width = 1 + Math.sqrt(Math.min(edge.count, 64)) * 0.5;
    svgElement("path", { d: pathData(edge.points), "stroke-width": width, "marker-end": "url(#tfx-arrow)" }, g);
    if (edge.count > 1) {
      const [x1, y1] = edge.points[edge.points.length - 2];
      const [x2, y2] = edge.points[edge.points.length - 1];
      const label = svgElement("text", { x: (x1 + x2) / 2 + 4, y: (y1 + y2) / 2, class: "tfx-edge-count" }, g);
      label.textContent = edge.count;
    }
    svgElement("title", {}, g).textContent = `${edge.src} → ${edge.dst}: ${edge.count} ${edge.control ? "control" : "tensor"}${edge.count > 1 ? "s" : ""}`;
  }
  for (const box of scene.boxes.filter((b) => !b.expanded)) {
    const g = svgElement("g", { class: `tfx-node tfx-${box.kind}`, "data-id": box.id, "data-name": box.name }, layer);
    if (lit.has(box.id)) g.classList.add("tfx-lit");
    if (box.name === state.selected || box.id === state.selected) g.classList.add("tfx-selected");
    const radius = box.kind === "op" ? box.height / 2 : 4;
    svgElement("rect", { x: box.x, y: box.y, width: box.width, height: box.height, rx: radius, fill: box.fill || "#e8eef7" }, g);
    const cx = box.x + box.width / 2;
    if (box.kind !== "op") {
      let x = box.x + 4;
      for (const [color, fraction] of box.mix || []) {
        const w = (box.width - 8) * fraction;
        svgElement("rect", { x, y: box.y + box.height - 5, width: w, height: 3, fill: color, class: "tfx-mix" }, g);
        x += w;
      }
      svgElement("text", { x: cx, y: box.y + 14, "text-anchor": "middle" }, g).textContent = "▸ " + fitLabel(box.label, box.width - 10 - 2 * CHAR_WIDTH);
      svgElement("text", { x: cx, y: box.y + 26, "text-anchor": "middle", class: "tfx-count" }, g).textContent = `${box.op_count} ops`;
    } else {
      svgElement("text", { x: cx, y: box.y + box.height / 2 + 4, "text-anchor": "middle" }, g).textContent = fitLabel(box.label, box.width - 10);
    }
    svgElement("title", {}, g).textContent = box.kind === "op" ? `${box.name} (${box.op_type})` : `${box.name}: ${box.op_count} ops${box.kind === "group" ? " (grouped)" : ""} — click to open`;
  }
}

function tensorRow(list, entry, onReveal, extra = "") {
  const li = htmlElement("li", "", "", list);
  const link = htmlElement("a", "tfx-link", entry.tensor || entry, li);
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

function drawDetail(panel, detail, actions) {
  panel.replaceChildren();
  if (!detail || !detail.kind) {
    htmlElement("p", "tfx-muted", "Click a node to see its details; click a scope to open it.", panel);
    return;
  }
  htmlElement("h3", "tfx-detail-name", detail.name, panel);
  if (detail.kind === "scope" || detail.kind === "group") {
    const what = detail.kind === "group" ? `${detail.group_kind} of ${detail.children} · ` : "scope · ";
    htmlElement("p", "", `${what}${detail.op_count} ops`, panel);
    section(panel, "Op types", Object.entries(detail.op_types), (list, [type, n]) => htmlElement("li", "", `${type} × ${n}`, list));
    section(panel, "Sub-scopes", detail.child_scopes, (list, s) => htmlElement("li", "", s, list));
    if (detail.kind === "group") section(panel, "First members", detail.first_children, (list, s) => htmlElement("li", "", s, list));
    return;
  }
  htmlElement("p", "tfx-facts", [detail.op, detail.role, detail.device].filter(Boolean).join(" · "), panel);
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
  section(panel, "Collections", detail.collections, (list, c) => htmlElement("li", "", c, list));
  if (detail.variable) {
    section(panel, "Value in checkpoint", Object.entries(detail.variable), (list, [k, v]) => htmlElement("li", "", `${k}: ${typeof v === "number" ? Number(v.toPrecision(5)) : v}`, list));
  }
  if (detail.attrs && typeof detail.attrs === "object") {
    section(panel, "Attributes", Object.entries(detail.attrs), (list, [k, v]) => htmlElement("li", "", `${k} = ${v}`, list));
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
  searchBox.value = model.get("search_query");
  const colorBy = htmlElement("select", "tfx-color-by", "", toolbar);
  for (const [value, label] of [["op", "colour: op type"], ["device", "colour: device"], ["role", "colour: role"]]) {
    const option = htmlElement("option", "", label, colorBy);
    option.value = value;
  }
  const collectionBox = htmlElement("select", "tfx-collection", "", toolbar);
  const functionBox = htmlElement("select", "tfx-functions", "", toolbar);
  const fitButton = htmlElement("button", "tfx-fit", "Fit", toolbar);
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

  const view = { scale: 1, x: 0, y: 0, fitted: false, graph: model.get("current_function") };
  let anchor = null; // keep a clicked scope where it was on screen across re-layouts

  const applyView = () => viewport.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.scale})`);
  const fit = () => {
    const scene = model.get("scene");
    const { width, height } = stage.getBoundingClientRect();
    if (!scene.width || !width) return;
    view.scale = Math.min(width / scene.width, height / scene.height, 1.25);
    view.x = (width - scene.width * view.scale) / 2;
    view.y = Math.max((height - scene.height * view.scale) / 2, 0);
    view.fitted = true;
    applyView();
  };
  const centreOn = (id) => {
    const box = model.get("scene").boxes.find((b) => b.id === id);
    if (!box) return;
    const { width, height } = stage.getBoundingClientRect();
    view.scale = Math.max(view.scale, 0.9);
    view.x = width / 2 - (box.x + box.width / 2) * view.scale;
    view.y = height / 2 - (box.y + box.height / 2) * view.scale;
    applyView();
  };

  const redraw = () => {
    const scene = model.get("scene");
    if ((scene.function || "") !== view.graph) { // another graph: fit it afresh
      view.graph = scene.function || "";
      view.fitted = false;
      anchor = null;
    }
    drawScene(viewport, scene, {
      highlight: model.get("highlight"),
      highlightEdges: model.get("highlight_edges"),
      selected: model.get("selected"),
    });
    if (anchor) {
      const box = scene.boxes.find((b) => b.id === anchor.id);
      if (box) {
        view.x = anchor.sx - box.x * view.scale;
        view.y = anchor.sy - box.y * view.scale;
        applyView();
      }
      anchor = null;
    } else if (!view.fitted) {
      fit();
    }
  };
  const drawLegend = () => {
    legend.replaceChildren();
    for (const row of model.get("legend")) {
      const item = htmlElement("div", "tfx-legend-row", "", legend);
      htmlElement("span", "tfx-swatch", "", item).style.background = row.color;
      htmlElement("span", "", `${row.label} (${row.count})`, item);
    }
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
      const li = htmlElement("li", "tfx-match", name, matchList);
      li.addEventListener("click", () => send({ action: "reveal", name }));
    }
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
    const scale = Math.min(Math.max(view.scale * factor, 0.05), 4);
    view.x = px - ((px - view.x) * scale) / view.scale;
    view.y = py - ((py - view.y) * scale) / view.scale;
    view.scale = scale;
    applyView();
  };
  svg.addEventListener("pointerdown", onDown);
  svg.addEventListener("pointermove", onMove);
  svg.addEventListener("pointerup", onUp);
  svg.addEventListener("wheel", onWheel, { passive: false });
  fitButton.addEventListener("click", fit);
  let searchTimer = null;
  searchBox.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => save("search_query", searchBox.value), 250);
  });
  searchBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { clearTimeout(searchTimer); save("search_query", searchBox.value); }
  });
  colorBy.value = model.get("color_by");
  colorBy.addEventListener("change", () => save("color_by", colorBy.value));
  collectionBox.addEventListener("change", () => save("collection", collectionBox.value));
  functionBox.addEventListener("change", () => save("current_function", functionBox.value));

  listen("change:scene", redraw);
  listen("change:highlight", redraw);
  listen("change:highlight_edges", redraw);
  listen("change:selected", redraw);
  listen("change:detail", showDetail);
  listen("change:legend", drawLegend);
  listen("change:collections", drawCollections);
  listen("change:collection", drawCollections);
  listen("change:matches", drawMatches);
  listen("change:functions", drawFunctions);
  listen("change:function_stack", drawCrumbs);
  listen("change:current_function", drawCrumbs);
  listen("change:error", showError);
  listen("change:height", setHeight);
  listen("change:focus", () => centreOn(model.get("focus").id));

  setHeight();
  drawLegend();
  drawCollections();
  drawFunctions();
  drawCrumbs();
  showDetail();
  showError();
  drawMatches();
  // Lay out once the element is in the page and has a size.
  const resize = new ResizeObserver(() => { if (!view.fitted) redraw(); });
  resize.observe(stage);
  redraw();

  return () => {
    for (const [event, fn] of handlers) model.off(event, fn);
    resize.disconnect();
    clearTimeout(searchTimer);
  };
}

export default { render };
