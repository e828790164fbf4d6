/**
 * The one script the pages load (from /assets/app.js; the CSP allows no other). It does three
 * things: runs the action buttons with the token in a header, follows server-sent events and
 * swaps in the re-rendered page when the run's files change, and keeps open folds open across
 * those swaps. Plain browser JavaScript, served as is.
 */
// biome-ignore lint/complexity/noUselessStringRaw: raw, so that a backslash added to the script one day reaches the browser as written.
export const CLIENT_SCRIPT = String.raw`'use strict';
(function () {
  var tokenMeta = document.querySelector('meta[name="pop-token"]');
  var token = tokenMeta ? tokenMeta.getAttribute('content') : '';

  // What an action did stays in view above the page: across live refreshes, and after moving to a rerun's page.
  var notice = document.getElementById('notice');
  function showNotice(text, ok) {
    if (!notice || !text) return;
    notice.textContent = text;
    notice.className = ok ? 'notice' : 'notice bad';
    notice.hidden = false;
  }
  try {
    var kept = sessionStorage.getItem('pop-notice');
    if (kept) { sessionStorage.removeItem('pop-notice'); kept = JSON.parse(kept); showNotice(kept.text, kept.ok); }
  } catch (error) {}

  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('button[data-action]');
    if (!button) return;
    var run = button.getAttribute('data-run');
    var action = button.getAttribute('data-action');
    var body = {};
    if (action === 'rerun') body.from = document.getElementById('rerun-from').value;
    var out = document.getElementById('action-result');
    button.disabled = true;
    if (out) out.textContent = action + '…';
    fetch('/api/runs/' + encodeURIComponent(run) + '/' + action, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pop-token': token },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        return response.json().catch(function () { return { ok: false, message: response.status + ' ' + response.statusText }; });
      })
      .then(function (result) {
        button.disabled = false;
        if (out) out.textContent = result.message || '';
        if (result.ok && result.run && result.run !== run) {
          try { sessionStorage.setItem('pop-notice', JSON.stringify({ text: result.message, ok: true })); } catch (error) {}
          location.href = '/runs/' + encodeURIComponent(result.run);
          return;
        }
        showNotice(result.message || action + ' answered nothing', result.ok);
      })
      .catch(function (error) {
        button.disabled = false;
        if (out) out.textContent = String(error);
        showNotice(action + ' failed: ' + String(error), false);
      });
  });

  var live = document.body.getAttribute('data-live');
  if (!live || !window.EventSource) return;

  var refreshing = false;
  var again = false;
  // A fold is known by its id, else by its summary's text and position: both survive a re-render.
  function keyOf(element, index) {
    if (element.id) return element.id;
    var summary = element.querySelector('summary');
    return (summary ? summary.textContent : '') + '#' + index;
  }
  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(location.href, { headers: { accept: 'text/html' }, credentials: 'same-origin' })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (text) {
        if (text === null) return;
        var next = new DOMParser().parseFromString(text, 'text/html').getElementById('main');
        var main = document.getElementById('main');
        if (!next || !main) return;
        var open = {};
        main.querySelectorAll('details').forEach(function (element, index) { if (element.open) open[keyOf(element, index)] = true; });
        var values = {};
        main.querySelectorAll('select[id], input[id]').forEach(function (element) { values[element.id] = element.value; });
        next.querySelectorAll('details').forEach(function (element, index) { if (open[keyOf(element, index)]) element.open = true; });
        Object.keys(values).forEach(function (id) { var element = next.querySelector('#' + CSS.escape(id)); if (element) element.value = values[id]; });
        main.replaceWith(document.adoptNode(next));
        document.body.setAttribute('data-refreshed', String(Number(document.body.getAttribute('data-refreshed') || 0) + 1));
      })
      .catch(function () {})
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  var timer = null;
  var indicator = document.getElementById('live-state');
  var source = new EventSource('/events' + (live === '*' ? '' : '?run=' + encodeURIComponent(live)));
  source.addEventListener('open', function () { if (indicator) indicator.hidden = false; });
  source.addEventListener('error', function () { if (indicator) indicator.hidden = true; });
  source.addEventListener('change', function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  });
})();
`;
