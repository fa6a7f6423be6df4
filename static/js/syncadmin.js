/* syncadmin's own page behaviour, loaded by base.html after htmx. The Content-Security-
   Policy forbids style attributes, so widths given as data-width (0-100) are set here,
   on the page and on every piece htmx swaps in (htmx:load fires for both). */
(function () {
  "use strict";

  function applyWidths(root) {
    var elements = Array.prototype.slice.call(root.querySelectorAll("[data-width]"));
    if (root.matches && root.matches("[data-width]")) {
      elements.push(root);
    }
    elements.forEach(function (element) {
      var percent = Math.max(0, Math.min(100, parseFloat(element.dataset.width) || 0));
      element.style.width = percent + "%";
    });
  }

  document.addEventListener("htmx:load", function (event) {
    applyWidths(event.detail.elt);
  });
  document.addEventListener("DOMContentLoaded", function () {
    applyWidths(document);
  });
})();

/* A list's "select every row" box (data-select-all="NAME") checks the boxes marked
   data-row-select="NAME" on the page. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var name = event.target.dataset && event.target.dataset.selectAll;
    if (!name) {
      return;
    }
    document.querySelectorAll('[data-row-select="' + name + '"]').forEach(function (box) {
      box.checked = event.target.checked;
    });
  });
})();
