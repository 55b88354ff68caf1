// The upload forms' progress bar (issue 16, item 4). No inline script: CSP.
//
// A form with data-progress-url is sent with fetch (the page stays, so the bar can move); meanwhile
// this polls the status URL once a second and shows the phase and rows read of rows total. Its
// buttons are disabled while the request is in flight. The answer (the page a redirect leads to,
// or the form again with its errors) then replaces this page's body, with its address in the history.
// Without script the form is sent as usual. A filing's page (an element with data-progress-url and
// data-reload) polls the same way and reloads itself when processing is over.
(function () {
  "use strict";

  function show(box, data) {
    var bar = box.querySelector("progress");
    var label = box.querySelector(".progress-label");
    box.hidden = false;
    if (bar) {
      if (data.percent === null || data.percent === undefined) {
        bar.removeAttribute("value"); // indeterminate: the total is not known yet
      } else {
        bar.value = data.percent;
      }
    }
    if (label && data.label) { label.textContent = data.label; }
    box.setAttribute("data-phase", data.phase || "");
  }

  function poll(url, box, onDone) {
    var stopped = false;
    function tick() {
      if (stopped) { return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data) {
            show(box, data);
            if (data.done && onDone) { stopped = true; onDone(data); return; }
          }
          window.setTimeout(tick, 1000);
        })
        .catch(function () { window.setTimeout(tick, 2000); });
    }
    tick();
    return function () { stopped = true; };
  }

  function watchForm(form) {
    var box = document.getElementById(form.getAttribute("data-progress-box"));
    var url = form.getAttribute("data-progress-url");
    if (!box || !url) { return; }
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-in-flight")) { event.preventDefault(); return; }
      form.setAttribute("data-in-flight", "1");
      // The pressed button's name=value must still be sent: a disabled button is not, so it is
      // copied into a hidden field before the buttons are disabled.
      var submitter = event.submitter;
      if (submitter && submitter.name) {
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = submitter.name;
        hidden.value = submitter.value;
        form.appendChild(hidden);
      }
      Array.prototype.forEach.call(form.querySelectorAll("button, input[type=submit]"), function (b) {
        b.disabled = true;
        b.setAttribute("aria-disabled", "true");
      });
      show(box, { phase: "sending", percent: null, label: box.getAttribute("data-sending") || "" });
      var stop = poll(url, box, null);
      event.preventDefault();
      var data = new FormData(form);
      // getAttribute: form.action would be the field named "action" (the pressed button's copy).
      var target = form.getAttribute("action") || window.location.href;
      fetch(target, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (response) {
          return response.text().then(function (html) {
            stop();
            replacePage(html, response.url);
          });
        })
        .catch(function () {
          // The network failed: send the form the ordinary way (its answer is a page).
          stop();
          HTMLFormElement.prototype.submit.call(form);
        });
    });
  }

  function replacePage(html, url) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    // A new history entry, as a page the form led to would be; Back reloads the page it returns to.
    if (url && url !== window.location.href) { window.history.pushState({ upload: true }, "", url); }
    document.title = doc.title;
    document.body.replaceWith(document.adoptNode(doc.body));
    window.scrollTo(0, 0);
    init();
  }

  function watchPage(box) {
    poll(box.getAttribute("data-progress-url"), box, function () {
      window.location.reload();
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-progress-url]"), watchForm);
    Array.prototype.forEach.call(document.querySelectorAll(".progress[data-reload][data-progress-url]"), watchPage);
  }

  window.addEventListener("popstate", function () { window.location.reload(); });
  init();
}());
