// The printable packs' "Print" button. A file, not an inline onclick, because the
// Content-Security-Policy allows no inline script. Dash also loads every assets/*.js on its
// pages; there is no #print-pack button there, so this does nothing.
(function () {
  function wire() {
    var button = document.getElementById('print-pack');
    if (button) { button.addEventListener('click', function () { window.print(); }); }
  }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', wire); } else { wire(); }
})();
