// Boxes that are wider than the column scroll sideways, and say so.
// Display equations (div.math), printed tables (div.wi-table-wrap and the theme's
// table containers), code and cell outputs keep their own width and scroll inside the
// column (course.css). When one really overflows, this marks it: class "wi-scrolls"
// (scroll shadows), a keyboard stop (tabindex=0, role=region) whose accessible name
// ends in "(scrolls sideways)", and a visible hint under it. Re-checked after MathJax
// has typeset the page (then <html data-wi-mathjax-marked="1">, what the browser test
// waits for) and whenever the window is resized.
(function () {
  "use strict";
  var SELECTOR = [
    "div.math",
    "span.math",
    ".wi-table-wrap",
    ".pst-scrollable-table-container",
    "div.highlight > pre",
    ".cell_output .output",
    ".cell_output pre",
  ].map(function (s) { return "article.bd-article " + s; }).join(", ");

  function kind(el) {
    if (el.matches("div.math")) return "equation";
    if (el.matches("span.math")) return "formula";
    if (el.matches(".wi-table-wrap, .pst-scrollable-table-container")) return "table";
    if (el.matches(".cell_output .output, .cell_output pre")) return "output";
    return "code";
  }

  function mark(el) {
    if (el.matches("span.math") && !el.classList.contains("wi-scroll-inline")) {
      // an inline formula has no scroll box of its own until it is wider than the column
      var article = el.closest("article.bd-article");
      var column = article.getBoundingClientRect();
      var pad = getComputedStyle(article);
      var left = column.left + parseFloat(pad.paddingLeft) - 1;
      var right = column.right - parseFloat(pad.paddingRight) + 1;
      var inner = el.querySelector("mjx-container") || el;
      var box = inner.getBoundingClientRect();
      if (box.width === 0 || (box.left >= left && box.right <= right)) return;
      el.classList.add("wi-scroll-inline");
    }
    var over = el.scrollWidth > el.clientWidth + 1;
    var hint = el.nextElementSibling;
    var hasHint = hint && hint.classList.contains("wi-scroll-hint");
    if (over) {
      if (!el.dataset.wiLabel) {
        el.dataset.wiLabel = el.getAttribute("aria-label") || kind(el);
        el.dataset.wiRole = el.getAttribute("role") || "";
        el.dataset.wiTab = el.getAttribute("tabindex") || "";
      }
      el.classList.add("wi-scrolls");
      el.setAttribute("role", "region");
      el.setAttribute("tabindex", "0");
      el.setAttribute("aria-label", el.dataset.wiLabel + " (scrolls sideways)");
      if (!hasHint) {
        var p = document.createElement("span");
        p.className = "wi-scroll-hint";
        p.setAttribute("aria-hidden", "true");
        p.textContent = "\u2194 scroll sideways to see all of this " + kind(el);
        el.insertAdjacentElement("afterend", p);
      }
    } else if (el.classList.contains("wi-scrolls")) {
      el.classList.remove("wi-scrolls");
      var restore = { "aria-label": el.dataset.wiLabel, role: el.dataset.wiRole,
                      tabindex: el.dataset.wiTab };
      Object.keys(restore).forEach(function (name) {
        var value = restore[name];
        if (name === "aria-label" && value === kind(el)) value = "";
        if (value) el.setAttribute(name, value); else el.removeAttribute(name);
      });
      delete el.dataset.wiLabel;
      if (hasHint) hint.remove();
    }
  }

  function markAll() {
    document.querySelectorAll(SELECTOR).forEach(mark);
    document.documentElement.dataset.wiScrollMarked = "1";
  }

  var timer = null;
  function later() {
    clearTimeout(timer);
    timer = setTimeout(markAll, 150);
  }

  function afterMathJax() {
    markAll();
    document.documentElement.dataset.wiMathjaxMarked = "1";
  }

  function start() {
    markAll();
    window.addEventListener("resize", later);
    if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
      window.MathJax.startup.promise.then(afterMathJax);
    } else {
      // MathJax loads after this script on some pages: wait for it a little
      var tries = 0;
      var poll = setInterval(function () {
        tries += 1;
        if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
          clearInterval(poll);
          window.MathJax.startup.promise.then(afterMathJax);
        } else if (tries > 50) {
          clearInterval(poll);
        }
      }, 100);
    }
    window.addEventListener("load", markAll);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  window.wiMarkScrollBoxes = markAll;

  // A figure shrinks with the column; on a phone a tap opens it at full size.
  function zoomLinks() {
    document.querySelectorAll("article.bd-article figure img").forEach(function (img) {
      if (img.closest("a")) return;
      var a = document.createElement("a");
      a.className = "wi-zoom";
      a.href = img.currentSrc || img.src;
      a.title = "Open the figure at full size";
      img.parentNode.insertBefore(a, img);
      a.appendChild(img);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", zoomLinks);
  } else {
    zoomLinks();
  }

  // Search result snippets: Sphinx cuts them from the pages' HTML, where formulas are
  // still TeX ("\\(\\operatorname{Var}(y) = ...\\)"). Each formula becomes plain text.
  function plainTeX(tex) {
    return tex
      .replace(/^\s*(\\\(|\\\[|\$\$?)|(\\\)|\\\]|\$\$?)\s*$/g, "")
      .replace(/\\(operatorname|mathrm|text|mathbf|mathcal|mathbb|textbf)\s*\{([^{}]*)\}/g, "$2")
      .replace(/\\(left|right|big|Big|,|;|!|quad|qquad)/g, " ")
      .replace(/\\([a-zA-Z]+)/g, "$1")
      .replace(/[{}]/g, "")
      .replace(/\s+/g, " ")
      .trim();
  }
  function plainSearchSnippets() {
    // searchtools.js declares `const Search`: a global binding, not a property of window
    var S = typeof Search !== "undefined" ? Search : window.Search;
    if (!S || !S.htmlToText || S.wiPlain) return;
    var original = S.htmlToText;
    S.htmlToText = function (htmlString, anchor) {
      var doc = new DOMParser().parseFromString(htmlString, "text/html");
      doc.querySelectorAll("[role='main'] .math").forEach(function (el) {
        el.replaceWith(doc.createTextNode(" " + plainTeX(el.textContent) + " "));
      });
      return original.call(this, doc.documentElement.outerHTML, anchor);
    };
    S.wiPlain = true;
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", plainSearchSnippets);
  } else {
    plainSearchSnippets();
  }
})();
