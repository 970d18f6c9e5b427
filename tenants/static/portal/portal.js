// Copy buttons: <button data-copy="ID"> copies the text of the element with that id.
// Loaded as a file (the portal's Content-Security-Policy allows no inline script).
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.dataset.copy);
  if (!source) return;
  var text = source.textContent;
  var done = function () {
    var label = button.textContent;
    button.textContent = "Copied";
    button.classList.add("copied");
    setTimeout(function () { button.textContent = label; button.classList.remove("copied"); }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
  } else { fallback(text); done(); }
});
function fallback(text) {
  var area = document.createElement("textarea");
  area.value = text; area.setAttribute("readonly", ""); area.className = "offscreen";
  document.body.appendChild(area); area.select();
  try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
}
document.documentElement.classList.add("js");
