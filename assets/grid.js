// AG Grid helpers (dash-ag-grid): the count comparator and the premises table's refresh.
// Served from assets/ like every script of the app: nothing inline, nothing from another host.
(function () {
  // A shown count sorts by its number; "<5" among the small counts; "*", "–" and blanks first.
  // The same rule as dashboard/components/grid.py count_key, which sorts server-paged tables.
  function countKey(value) {
    if (typeof value === "number") { return value; }
    if (value === "<5") { return 2.5; }
    var text = String(value == null ? "" : value).replace(/,/g, "").replace(/%$/, "").trim();
    var n = parseFloat(text.replace(/^\+/, ""));
    return (text === "" || isNaN(n) || !/^[+-]?[0-9.]+$/.test(text)) ? -1 : n;
  }
  var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
  dagfuncs.istvCountComparator = function (a, b) { return countKey(a) - countKey(b); };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    istv_grid: {
      // new filters: drop the cached pages and go back to the first (the server sends the rows)
      refresh: function (controls, gridId) {
        if (!controls) { return window.dash_clientside.no_update; }
        var grid = null;
        try { grid = window.dash_ag_grid.getApi(gridId); } catch (e) { grid = null; }  // not mounted yet: it asks itself
        if (grid) { grid.purgeInfiniteCache(); grid.paginationGoToFirstPage(); }
        return Date.now();
      }
    }
  });
})();
