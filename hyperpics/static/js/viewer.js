// The full-screen viewer (photos/viewer.html): the arrow keys and a sideways swipe follow its
// newer/older links, Escape and a swipe down its close link. The links work on their own.
(() => {
  const viewer = document.querySelector("[data-viewer]");
  if (!viewer) return;
  const follow = (selector) => viewer.querySelector(selector)?.click();
  const keys = { ArrowLeft: ".viewer-prev", ArrowRight: ".viewer-next", Escape: ".viewer-close" };

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || !(event.key in keys)) return;
    event.preventDefault();
    follow(keys[event.key]);
  });

  let start = null;
  viewer.addEventListener("touchstart", (event) => {
    start = event.touches.length === 1 ? { x: event.touches[0].clientX, y: event.touches[0].clientY } : null;
  }, { passive: true });
  viewer.addEventListener("touchend", (event) => {
    if (!start) return;
    const touch = event.changedTouches[0];
    const dx = touch.clientX - start.x, dy = touch.clientY - start.y;
    start = null;
    if (Math.abs(dx) > 60 && Math.abs(dx) > 2 * Math.abs(dy)) follow(dx > 0 ? ".viewer-prev" : ".viewer-next");
    else if (dy > 90 && dy > 2 * Math.abs(dx)) follow(".viewer-close");
  });
})();
