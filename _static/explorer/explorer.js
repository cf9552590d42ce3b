// The interactive explorer of chapters/explorer.ipynb, without a Python kernel.
// Reads the results precomputed with the weightinit library
// (scripts/make_explorer_data.py -> _static/explorer/explorer_data.json) and draws the
// standard deviation of the activations through depth as an SVG chart for the chosen
// initializer, activation, depth, width and seed. Hand-written, no library, no CDN.
// Runs only on a page with <div class="wi-explorer" data-src="...json">.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var W = 640, H = 380, M = { left: 72, right: 20, top: 40, bottom: 56 };
  var COLOR = "#0072B2", REF = "#555555";

  function el(tag, attrs, parent) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, s, attrs) {
    var t = el("text", Object.assign({ x: x, y: y, "font-size": 14, fill: "#222" }, attrs || {}), parent);
    t.textContent = s;
    return t;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "overflow";
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(2).replace("e+", "e");
    return Number(v.toPrecision(3)).toString();
  }
  function control(form, label, input) {
    var lab = document.createElement("label");
    lab.textContent = label;
    lab.appendChild(input);
    form.appendChild(lab);
    return input;
  }
  function select(options, value) {
    var s = document.createElement("select");
    options.forEach(function (o) {
      var opt = document.createElement("option");
      opt.value = String(o);
      opt.textContent = String(o);
      if (String(o) === String(value)) opt.selected = true;
      s.appendChild(opt);
    });
    return s;
  }
  function range(min, max, value) {
    var r = document.createElement("input");
    r.type = "range"; r.min = min; r.max = max; r.step = 1; r.value = value;
    return r;
  }

  function draw(svg, values, depth, title) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    el("rect", { x: 0, y: 0, width: W, height: H, fill: "#fff" }, svg);
    var shown = values.slice(0, depth);
    var finite = shown.filter(function (v) { return v !== null && v > 0; });
    var lo = Math.min.apply(null, finite.concat([1])), hi = Math.max.apply(null, finite.concat([1]));
    var dlo = Math.floor(Math.log10(lo)), dhi = Math.ceil(Math.log10(hi));
    if (dhi === dlo) { dlo -= 1; dhi += 1; }
    var px = function (i) {  // layer i (1-based) -> x
      return M.left + (depth === 1 ? 0.5 : (i - 1) / (depth - 1)) * (W - M.left - M.right);
    };
    var py = function (v) {
      return M.top + (dhi - Math.log10(v)) / (dhi - dlo) * (H - M.top - M.bottom);
    };
    var axes = el("g", { "font-family": "sans-serif" }, svg);
    // y grid and ticks: one per decade (at most 8 labels)
    var step = Math.max(1, Math.ceil((dhi - dlo) / 8));
    for (var d = dlo; d <= dhi; d += step) {
      var y = py(Math.pow(10, d));
      el("line", { x1: M.left, x2: W - M.right, y1: y, y2: y, stroke: "#ddd" }, axes);
      text(axes, M.left - 8, y + 5, d === 0 ? "1" : "1e" + d, { "text-anchor": "end" });
    }
    // x ticks: integer layers, at most 10 labels
    var xstep = Math.max(1, Math.ceil(depth / 10));
    for (var i = 1; i <= depth; i += xstep) {
      el("line", { x1: px(i), x2: px(i), y1: H - M.bottom, y2: H - M.bottom + 5, stroke: "#444" }, axes);
      text(axes, px(i), H - M.bottom + 21, String(i), { "text-anchor": "middle" });
    }
    el("line", { x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom, stroke: "#444" }, axes);
    el("line", { x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom, stroke: "#444" }, axes);
    text(axes, (M.left + W - M.right) / 2, H - 12, "layer", { "text-anchor": "middle", "font-size": 15 });
    text(axes, 18, (M.top + H - M.bottom) / 2, "std of the activations (log scale)",
         { "text-anchor": "middle", "font-size": 15, transform: "rotate(-90 18 " + (M.top + H - M.bottom) / 2 + ")" });
    text(axes, W / 2, 24, title, { "text-anchor": "middle", "font-size": 16, "font-weight": "bold" });
    // reference: the std of the inputs, 1
    el("line", { x1: M.left, x2: W - M.right, y1: py(1), y2: py(1), stroke: REF,
                 "stroke-dasharray": "6 4", "stroke-width": 1.5 }, svg);
    text(svg, W - M.right - 4, py(1) - 6, "input std 1", { "text-anchor": "end", fill: REF, "font-size": 13 });
    // the curve (stops at the first overflow)
    var pts = [];
    for (var k = 0; k < shown.length && shown[k] !== null && shown[k] > 0; k++) {
      pts.push(px(k + 1).toFixed(1) + "," + py(shown[k]).toFixed(1));
    }
    el("polyline", { points: pts.join(" "), fill: "none", stroke: COLOR, "stroke-width": 2.5,
                     class: "wi-explorer-curve" }, svg);
    pts.forEach(function (p) {
      var xy = p.split(",");
      el("circle", { cx: xy[0], cy: xy[1], r: 3, fill: COLOR }, svg);
    });
  }

  function start(box) {
    var src = box.getAttribute("data-src");
    var status = box.querySelector(".wi-explorer-status");
    fetch(src).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status + " for " + src);
      return r.json();
    }).then(function (data) {
      if (status) status.remove();
      var form = document.createElement("form");
      form.className = "wi-explorer-controls";
      form.setAttribute("aria-label", "Explorer settings");
      form.addEventListener("submit", function (e) { e.preventDefault(); });
      var init = control(form, "initializer", select(data.initializers, "he_normal"));
      var act = control(form, "activation", select(data.activations, "relu"));
      var depth = control(form, "depth", range(1, data.max_depth, 10));
      var width = control(form, "width", select(data.widths, 256));
      var seed = control(form, "seed", range(data.seeds[0], data.seeds[data.seeds.length - 1], data.seeds[0]));
      var depthOut = document.createElement("output");
      var seedOut = document.createElement("output");
      depth.insertAdjacentElement("afterend", depthOut);
      seed.insertAdjacentElement("afterend", seedOut);
      box.appendChild(form);
      var figure = document.createElement("figure");
      var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
                            class: "wi-explorer-chart" }, figure);
      var caption = document.createElement("figcaption");
      figure.appendChild(caption);
      box.appendChild(figure);
      var readout = document.createElement("p");
      readout.className = "wi-explorer-readout";
      readout.setAttribute("aria-live", "polite");
      box.appendChild(readout);

      function update() {
        var d = Number(depth.value);
        depthOut.textContent = String(d);
        seedOut.textContent = seed.value;
        var key = [init.value, act.value, width.value, seed.value].join("|");
        var entry = data.data[key];
        var title = init.value + ", " + act.value + ", width " + width.value + ", seed " + seed.value;
        var note = data.notes && data.notes[init.value] ? " (" + data.notes[init.value] + ")" : "";
        draw(svg, entry.std, d, title);
        svg.setAttribute("data-key", key + "|" + d);
        var last = d - 1;
        var std = entry.std.slice(0, d);
        svg.setAttribute("aria-label", "Line chart: standard deviation of the activations of layers 1 to " +
          d + " for " + title + note + ": " + std.map(fmt).join(", ") + ".");
        caption.textContent = "Standard deviation of the activations after each of the " + d +
          " layers (log scale) of an MLP with " + width.value + " units per layer, " +
          init.value + " weights" + note + " and " + act.value + " activations, for " + data.n_examples +
          " standard-normal inputs; the dashed line is the inputs' standard deviation, 1.";
        if (entry.std[last] === null) {
          readout.textContent = "The activations overflowed before layer " + d + ".";
        } else {
          readout.textContent = "layer " + d + ": std " + fmt(entry.std[last]) + " (layer 1: " +
            fmt(entry.std[0]) + "), dead units " + (entry.dead ? entry.dead[last] : 0) + "%, saturated " +
            (entry.sat ? entry.sat[last] : 0) + "%";
        }
      }
      [init, act, depth, width, seed].forEach(function (c) {
        c.addEventListener("input", update);
        c.addEventListener("change", update);
      });
      update();
      box.dataset.ready = "1";
    }).catch(function (err) {
      if (status) status.textContent = "The explorer could not load its data: " + err.message;
      if (window.console) console.error(err);
    });
  }

  function boot() {
    document.querySelectorAll(".wi-explorer[data-src]").forEach(start);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
