// RewriteTable: the rewrite plan's rows, drawn from HTML the kernel builds (every name in it
// already escaped by tfexplore.ui.rewrite). A click on a row tells the kernel which row:
// `clicked` = {source: key} or {target: name} (a target nothing fills), with a counter so a
// second click on the same row still counts. The table keeps its scroll position on redraw.

function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "tfx-rewrite-rows";
  box.style.maxHeight = model.get("height") + "px";
  box.style.overflow = "auto";
  el.appendChild(box);
  let clicks = 0;
  const draw = () => {
    const top = box.scrollTop;
    box.innerHTML = model.get("html");
    box.scrollTop = top;
  };
  const onClick = (event) => {
    const row = event.target.closest("tr[data-source], tr[data-target]");
    if (!row || !box.contains(row)) return;
    clicks += 1;
    const which = row.hasAttribute("data-source")
      ? { source: row.getAttribute("data-source") }
      : { target: row.getAttribute("data-target") };
    model.set("clicked", { ...which, n: clicks });
    model.save_changes();
  };
  box.addEventListener("click", onClick);
  model.on("change:html", draw);
  model.on("change:height", () => { box.style.maxHeight = model.get("height") + "px"; });
  draw();
  return () => {
    box.removeEventListener("click", onClick);
    model.off("change:html", draw);
  };
}

export default { render };
