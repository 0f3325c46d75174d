// Notification channels page: copy the one-time secret, confirm destructive forms.

// A page rendered in answer to a form (the one-time secret, a test result) takes the list's
// address, so reloading it reads the list instead of posting the form again (a second channel).
const listUrl = (document.querySelector("[data-channels-url]") || { dataset: {} }).dataset.channelsUrl;
if (listUrl && window.location.pathname !== listUrl) window.history.replaceState(null, "", listUrl);

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent.trim()).then(() => { button.textContent = "Copied"; });
  }
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
