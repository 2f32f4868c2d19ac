// Upload page: send the chosen ED file by a plain POST (not through a Dash callback, whose requests are
// kept small), show the transfer's progress, then hand the job id to the page (store "upload-job"),
// whose callbacks follow the check and the load. A file, not inline script: the CSP allows none.
(function () {
  function box() { return document.getElementById("upload-transfer"); }

  function say(text, kind) {
    var el = box();
    if (!el) { return; }
    el.textContent = "";
    var p = document.createElement("div");
    p.className = "alert py-1 mb-0 alert-" + (kind || "info");
    p.id = "upload-transfer-message";
    p.setAttribute("role", kind === "danger" ? "alert" : "status");
    p.textContent = text;
    el.appendChild(p);
  }

  function bar(pct) {
    var el = box();
    if (!el) { return; }
    var outer = el.querySelector(".progress");
    if (!outer) {
      el.textContent = "";
      outer = document.createElement("div");
      outer.className = "progress";
      outer.setAttribute("role", "progressbar");
      outer.setAttribute("aria-label", "Sending the file");
      outer.id = "upload-transfer-bar";
      var inner = document.createElement("div");
      inner.className = "progress-bar";
      outer.appendChild(inner);
      el.appendChild(outer);
    }
    outer.setAttribute("aria-valuenow", String(pct));
    var b = outer.firstChild;
    b.style.width = pct + "%";
    b.textContent = "Sending " + pct + " %";
  }

  // the file a person chose or dropped (dcc.Upload's input keeps a chosen file, not a dropped one)
  var chosenFile = null;
  function remember(file) {
    if (!file) { return; }
    chosenFile = file;
    var label = document.getElementById("upload-chosen");
    if (label) { label.textContent = file.name + " (" + (file.size / 1e3).toFixed(0) + " kB)"; }
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.type === "file" && t.closest && t.closest("#upload-file")) { remember(t.files && t.files[0]); }
  }, true);
  document.addEventListener("drop", function (e) {
    var t = e.target;
    if (t && t.closest && t.closest("#upload-file") && e.dataTransfer) { remember(e.dataTransfer.files[0]); }
  }, true);

  function send() {
    var form = document.getElementById("upload-form");
    if (!form) { return; }
    var file = chosenFile;
    if (!file) { say("Choose a file first.", "warning"); return; }
    var max = parseInt(form.getAttribute("data-max"), 10);
    if (max && file.size > max) {
      say(file.name + " is " + (file.size / 1e6).toFixed(1) + " MB, larger than the " + (max / 1048576).toFixed(0) +
          " MB limit: send the month in parts or ask an analyst to load it.", "danger");
      return;
    }
    var chosen = document.getElementById("upload-month");
    var month = chosen ? chosen.value : "";
    var set = window.dash_clientside && window.dash_clientside.set_props;
    var data = new FormData();
    data.append("file", file, file.name);
    data.append("month", month);
    var kind = document.getElementById("upload-kind");
    data.append("kind", kind ? kind.value : "");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("data-post"));
    xhr.setRequestHeader("X-CSRF-Token", form.getAttribute("data-csrf"));
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { bar(Math.round(100 * e.loaded / e.total)); }
    };
    xhr.onerror = function () { say("The file could not be sent (the connection failed). Try again.", "danger"); };
    xhr.onload = function () {
      var answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = {}; }
      if (xhr.status === 200 && answer.job) {
        say("Sent " + answer.name + " (" + (answer.bytes / 1e3).toFixed(0) + " kB): checked below.", "info");
        if (set) { set("upload-job", {data: answer.job}); }
      } else {
        say(answer.error || ("The server refused the file (" + xhr.status + ")."), "danger");
      }
    };
    bar(0);
    xhr.send(data);
  }

  document.addEventListener("click", function (e) {
    if (e.target && e.target.closest && e.target.closest("#upload-check")) { send(); }
  });
})();
