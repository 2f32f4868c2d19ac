// A session that expired mid-visit: Dash's requests get 401; send the person to sign in again
// instead of leaving a page that silently stops updating.
(function () {
  const originalFetch = window.fetch;
  window.fetch = function () {
    return originalFetch.apply(this, arguments).then(function (response) {
      if (response.status === 401 && !window.location.pathname.startsWith('/login')) {
        window.location.href = '/login?next=' + encodeURIComponent(window.location.pathname + window.location.search);
      }
      return response;
    });
  };
})();
