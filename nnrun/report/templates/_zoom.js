// A click (or Enter) on a picture shows it enlarged over the page; a click anywhere or Escape puts it back.
(function () {
  function close() {
    var open = document.querySelector("figure.enlarged");
    if (open) open.classList.remove("enlarged");
    return open;
  }
  document.addEventListener("click", function (event) {
    if (close()) return;
    var img = event.target.closest ? event.target.closest("figure img") : null;
    if (img) img.parentNode.classList.add("enlarged");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") close();
    if (event.key === "Enter" && event.target.matches && event.target.matches("figure img")) {
      if (!close()) event.target.parentNode.classList.add("enlarged");
    }
  });
})();
