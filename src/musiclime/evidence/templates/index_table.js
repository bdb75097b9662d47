// The index's tables: each point's rows come from its JSON data element (id "rows-<point>",
// written by musiclime.evidence.index_table); one page of them is in the DOM at a time. A click on a column header
// sorts (numbers as numbers, text by its natural-order rank written with the data; a second click reverses;
// empty cells last), the select boxes filter, previous/next page. Every text goes in through textContent,
// never as markup.
(function () {
  "use strict";
  var collator = new Intl.Collator("en", {numeric: true, sensitivity: "base"});

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function count(n) {
    return n.toLocaleString("en-US");
  }

  function compareKeys(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    return collator.compare(String(a), String(b));
  }

  function setUp(root) {
    var data = JSON.parse(document.getElementById(root.dataset.rows).textContent);
    var rows = data.rows, columns = data.columns, pageRows = data.page_rows;
    var textColumns = new Set(data.text_columns);
    var state = {chosen: data.filters.map(function () { return null; }), column: -1, descending: false, start: 0};
    var view = [];
    var body = root.querySelector("table.index tbody");
    var headers = Array.prototype.slice.call(root.querySelectorAll("table.index thead th"));
    var pagers = Array.prototype.slice.call(root.querySelectorAll(".index-pager")).map(makePager);

    function makePager(holder) {
      var previous = element("button", "previous", "\u2190 previous");
      var status = element("span", "status");
      var next = element("button", "next", "next \u2192");
      previous.type = next.type = "button";
      previous.addEventListener("click", function () { turn(-1); });
      next.addEventListener("click", function () { turn(1); });
      holder.replaceChildren(previous, status, next);
      return {previous: previous, status: status, next: next};
    }

    function turn(direction) {
      var start = state.start + direction * pageRows;
      if (start < 0 || start >= view.length) return;
      state.start = start;
      show();
    }

    function select() {
      var kept = [];
      for (var i = 0; i < rows.length; i++) {
        var facets = rows[i].facets, keep = true;
        for (var f = 0; f < state.chosen.length && keep; f++) {
          keep = state.chosen[f] === null || facets[f] === state.chosen[f];
        }
        if (keep) kept.push(i);
      }
      if (state.column >= 0) {
        var c = state.column, sign = state.descending ? -1 : 1;
        kept.sort(function (i, j) {
          var a = rows[i].keys[c], b = rows[j].keys[c];
          if (a === null || b === null) return (a === null) - (b === null) || i - j;
          return sign * compareKeys(a, b) || i - j;
        });
      }
      view = kept;
      state.start = 0;
      show();
    }

    function rowElement(row) {
      var tr = element("tr");
      var song = element("td");
      var link = element("a", "", row.song);
      link.setAttribute("href", row.href);
      song.appendChild(link);
      if (row.split) {
        song.appendChild(element("br"));
        song.appendChild(element("span", "split-tag", row.split));
      }
      tr.appendChild(song);
      for (var i = 0; i < row.cells.length; i++) {
        tr.appendChild(element("td", textColumns.has(columns[i + 1]) ? "text" : "num", row.cells[i]));
      }
      return tr;
    }

    function show() {
      var end = Math.min(state.start + pageRows, view.length);
      var fragment = document.createDocumentFragment();
      for (var i = state.start; i < end; i++) fragment.appendChild(rowElement(rows[view[i]]));
      body.replaceChildren(fragment);
      var filtered = view.length < rows.length ? " (filtered from " + count(rows.length) + ")" : "";
      var text = view.length === 0 ? "no rows match the filters (of " + count(rows.length) + ")"
        : "rows " + count(state.start + 1) + "-" + count(end) + " of " + count(view.length) + filtered;
      pagers.forEach(function (pager) {
        pager.status.textContent = text;
        pager.previous.disabled = state.start === 0;
        pager.next.disabled = end >= view.length;
      });
      headers.forEach(function (th, i) {
        var mark = i !== state.column ? "" : state.descending ? " \u25bc" : " \u25b2";
        th.querySelector(".sort-mark").textContent = mark;
        th.setAttribute("aria-sort", mark ? (state.descending ? "descending" : "ascending") : "none");
      });
    }

    function sortBy(i) {
      state.descending = state.column === i ? !state.descending : false;
      state.column = i;
      select();
    }

    headers.forEach(function (th, i) {
      th.appendChild(element("span", "sort-mark"));
      th.tabIndex = 0;
      th.classList.add("sortable");
      th.addEventListener("click", function () { sortBy(i); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(i); }
      });
    });

    var filterHolder = root.querySelector(".index-filters");
    data.filters.forEach(function (filter, f) {
      var label = element("label", "", filter.name + " ");
      var box = element("select");
      box.dataset.filter = filter.name;
      var all = element("option", "", "all (" + count(rows.length) + ")");
      all.value = "";
      box.appendChild(all);
      filter.options.forEach(function (option, k) {
        var item = element("option", "", option[0] + " (" + count(option[1]) + ")");
        item.value = String(k);
        box.appendChild(item);
      });
      box.addEventListener("change", function () {
        state.chosen[f] = box.value === "" ? null : filter.options[Number(box.value)][0];
        select();
      });
      label.appendChild(box);
      filterHolder.appendChild(label);
    });
    filterHolder.appendChild(element("span", "hint", "click a column's header to sort by it"));
    select();
    root.querySelector(".wide").hidden = false;  // hidden in the HTML: without this script, only the noscript line
  }

  document.querySelectorAll("div.index-table").forEach(setUp);
  if (window.performance && performance.mark) performance.mark("index-rendered");
})();
