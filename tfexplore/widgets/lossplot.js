// LossPlot: a training curve drawn in the browser from points streamed by the kernel.
// The kernel sends the (downsampled) points as one binary buffer of float64 pairs
// [x0, y0, x1, y1, ...]; this module draws the raw points faintly and an exponential moving
// average over them (debiased, as TensorBoard does), on a linear or log scale. Colours come
// from JupyterLab's CSS variables (lossplot.css), so every theme is readable.
// For tests, the <svg> carries data-points, data-last-x, data-redraws and data-scale.

const SVG = "http://www.w3.org/2000/svg";
const MARGIN = { left: 58, right: 18, top: 10, bottom: 34 };

function el(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function readPoints(value) {
  if (!value) return [[], []];
  const buffer = value.buffer ? value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) : value;
  const flat = new Float64Array(buffer);
  const xs = [], ys = [];
  for (let i = 0; i + 1 < flat.length; i += 2) { xs.push(flat[i]); ys.push(flat[i + 1]); }
  return [xs, ys];
}

function smooth(ys, weight) {
  // exponential moving average, debiased so the first points are not pulled towards 0
  if (weight <= 0) return ys.slice();
  const out = [];
  let last = 0, count = 0;
  for (const y of ys) {
    if (!Number.isFinite(y)) { out.push(NaN); continue; }
    last = last * weight + (1 - weight) * y;
    count += 1;
    out.push(last / (1 - Math.pow(weight, count)));
  }
  return out;
}

function niceTicks(lo, hi, count) {
  if (!(hi > lo)) { const d = Math.abs(lo) || 1; lo -= d / 2; hi += d / 2; }
  const raw = (hi - lo) / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return { lo, hi, ticks };
}

function logTicks(lo, hi) {
  const a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
  const ticks = [];
  const stride = Math.max(1, Math.ceil((b - a) / 6));
  for (let e = a; e <= b; e += stride) ticks.push(Math.pow(10, e));
  if (ticks.length < 3) for (let e = a; e < b; e++) for (const m of [2, 5]) ticks.push(m * Math.pow(10, e));
  return { lo: Math.pow(10, a), hi: Math.pow(10, b), ticks: ticks.filter((t) => t >= Math.pow(10, a) && t <= Math.pow(10, b)).sort((p, q) => p - q) };
}

function format(v) {
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace("e+", "e");
  if (a >= 1e3) return (v / 1e3).toFixed(a >= 1e4 ? 0 : 1) + "k";
  return +v.toPrecision(3) + "";
}

function render({ model, el: root }) {
  root.classList.add("tfx-lossplot");
  const bar = document.createElement("div");
  bar.className = "tfx-lossplot-bar";
  bar.innerHTML =
    '<span class="tfx-lossplot-title"></span>' +
    '<label>scale <select class="tfx-scale"><option value="auto">auto</option>' +
    '<option value="linear">linear</option><option value="log">log</option></select></label>' +
    '<label>smoothing <input class="tfx-smoothing" type="range" min="0" max="0.99" step="0.01">' +
    '<span class="tfx-smoothing-value"></span></label>';
  root.appendChild(bar);
  const svg = el("svg", { class: "tfx-lossplot-svg", role: "img" }, root);
  svg.dataset.redraws = "0";
  const scaleBox = bar.querySelector(".tfx-scale");
  const smoothBox = bar.querySelector(".tfx-smoothing");
  const smoothText = bar.querySelector(".tfx-smoothing-value");
  scaleBox.addEventListener("change", () => { model.set("scale", scaleBox.value); model.save_changes(); });
  smoothBox.addEventListener("input", () => {
    model.set("smoothing", parseFloat(smoothBox.value)); model.save_changes();
  });

  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  }

  function draw() {
    const [xs, ys] = readPoints(model.get("points"));
    const width = Math.max(240, root.clientWidth || 600);
    const height = model.get("height");
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    bar.querySelector(".tfx-lossplot-title").textContent = model.get("title");
    scaleBox.value = model.get("scale");
    smoothBox.value = model.get("smoothing");
    smoothText.textContent = (+model.get("smoothing")).toFixed(2);

    const weight = model.get("smoothing");
    const finite = ys.filter(Number.isFinite);
    let scale = model.get("scale");
    const positive = finite.length > 0 && finite.every((y) => y > 0);
    if (scale === "auto") {
      const lo = Math.min(...finite), hi = Math.max(...finite);
      scale = positive && hi / lo > 10 ? "log" : "linear";
    } else if (scale === "log" && !positive) scale = "linear";
    svg.dataset.points = String(xs.length);
    svg.dataset.lastX = xs.length ? String(xs[xs.length - 1]) : "";
    svg.dataset.scale = scale;
    svg.dataset.redraws = String(+svg.dataset.redraws + 1);

    const plotW = width - MARGIN.left - MARGIN.right;
    const plotH = height - MARGIN.top - MARGIN.bottom;
    const g = el("g", { transform: `translate(${MARGIN.left},${MARGIN.top})` }, svg);
    el("rect", { class: "tfx-lossplot-frame", x: 0, y: 0, width: plotW, height: plotH }, g);
    if (!finite.length) {
      const note = el("text", { class: "tfx-lossplot-empty", x: plotW / 2, y: plotH / 2, "text-anchor": "middle" }, g);
      note.textContent = xs.length ? "no finite loss values yet" : "no steps yet: press Run";
      return;
    }
    const xr = niceTicks(Math.min(...xs), Math.max(...xs), Math.max(2, Math.floor(plotW / 90)));
    const yr = scale === "log"
      ? logTicks(Math.min(...finite), Math.max(...finite))
      : niceTicks(Math.min(...finite), Math.max(...finite), Math.max(2, Math.floor(plotH / 40)));
    const fy = scale === "log" ? (v) => Math.log10(v) : (v) => v;
    const sx = (v) => ((v - xr.lo) / (xr.hi - xr.lo || 1)) * plotW;
    const sy = (v) => plotH - ((fy(v) - fy(yr.lo)) / (fy(yr.hi) - fy(yr.lo) || 1)) * plotH;

    for (const t of yr.ticks) {
      const y = sy(t);
      el("line", { class: "tfx-lossplot-grid", x1: 0, x2: plotW, y1: y, y2: y }, g);
      const label = el("text", { class: "tfx-lossplot-tick", x: -6, y: y + 4, "text-anchor": "end" }, g);
      label.textContent = format(t);
    }
    xr.ticks.forEach((t, i) => {
      const x = sx(t);
      el("line", { class: "tfx-lossplot-grid", x1: x, x2: x, y1: 0, y2: plotH }, g);
      // the last label ends at its tick instead of being centred on it: never clipped
      const anchor = x > plotW - 30 ? "end" : i === 0 && x < 20 ? "start" : "middle";
      const label = el("text", { class: "tfx-lossplot-tick", x, y: plotH + 16, "text-anchor": anchor }, g);
      label.textContent = format(t);
    });
    const xLabel = el("text", { class: "tfx-lossplot-axis", x: plotW, y: plotH + 30, "text-anchor": "end" }, g);
    xLabel.textContent = model.get("x_label");

    const path = (values) => {
      let d = "", open = false;
      values.forEach((v, i) => {
        if (!Number.isFinite(v) || (scale === "log" && v <= 0)) { open = false; return; }
        d += `${open ? "L" : "M"}${sx(xs[i]).toFixed(1)},${sy(v).toFixed(1)}`;
        open = true;
      });
      return d;
    };
    el("path", { class: "tfx-lossplot-raw", d: path(ys) }, g);
    if (weight > 0) el("path", { class: "tfx-lossplot-smooth", d: path(smooth(ys, weight)) }, g);
    if (xs.length < 60) {
      xs.forEach((x, i) => {
        if (Number.isFinite(ys[i])) el("circle", { class: "tfx-lossplot-dot", cx: sx(x), cy: sy(ys[i]), r: 2 }, g);
      });
    }
  }

  const events = ["change:points", "change:scale", "change:smoothing", "change:x_label", "change:title", "change:height"];
  for (const e of events) model.on(e, schedule);
  const resize = new ResizeObserver(schedule);
  resize.observe(root);
  draw();
  return () => {
    for (const e of events) model.off(e, schedule);
    resize.disconnect();
  };
}

export default { render };
