// The confirmation page's copy button: the secret code to the clipboard, and the button
// says it was copied (shown only where the browser lets a page write the clipboard).
(function () {
  "use strict";
  var button = document.getElementById("copy");
  if (!button || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = document.querySelector(button.dataset.copy).textContent.trim();
    navigator.clipboard.writeText(text).then(function () {
      button.textContent = button.dataset.done;
    });
  });
})();
