// Browser history for the pages' view state: Back and Forward restore a view, one entry per action.
//
// Pages write their view's query string to the "view-url" store (dashboard/url_state.py
// HISTORY). `write` below puts it in the address bar: a new history entry when a person acted
// (pressed, typed or chose something) since the last entry, otherwise it replaces the current
// entry (a page normalising its link on load, a second callback of the same action, moving the
// map). Back/Forward within a page set the "view-pop" store and the router rebuilds the page
// from the restored query; across pages dcc.Location handles the path itself.
// A file, not inline script: the Content-Security-Policy allows no inline script.
(function () {
  var acted = false;
  var LATE_MS = 2000;
  var lastPath = window.location.pathname;

  function person() { acted = true; }
  ["pointerdown", "keydown"].forEach(function (type) {
    document.addEventListener(type, person, true);
  });
  // dcc.Link / NavLink navigation: the link's own entry is the action's entry
  window.addEventListener("_dashprivate_pushstate", function () {
    acted = false;
    lastPath = window.location.pathname;
  });
  var poppedAt = 0;
  window.addEventListener("popstate", function () {
    acted = false;
    poppedAt = Date.now();
    var samePage = window.location.pathname === lastPath;
    lastPath = window.location.pathname;
    if (samePage && window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props("view-pop", {data: {search: window.location.search, t: Date.now()}});
    }
  });

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    istv_history: {
      write: function (entry) {
        var no = window.dash_clientside.no_update;
        if (entry === null || entry === undefined) { return no; }
        var search = typeof entry === "string" ? entry : entry.search;
        var push = typeof entry === "string" ? true : entry.push !== false;
        if (search === null || search === undefined) { return no; }
        if (search && search.charAt(0) !== "?") { search = "?" + search; }
        if (search === window.location.search) { return no; }
        // a late answer of the page Back or Forward just replaced: it must not overwrite the restored entry
        if (!acted && Date.now() - poppedAt < LATE_MS) { return no; }
        var url = window.location.pathname + search + window.location.hash;
        if (push && acted) {
          window.history.pushState({}, "", url);
        } else {
          window.history.replaceState(window.history.state, "", url);
        }
        acted = false;
        return no;
      },
      toggle: function (n, open) { return !open; },
      title: function (title) {
        if (title) { document.title = title; }
        return window.dash_clientside.no_update;
      }
    }
  });
})();
