// Chart.js (about 200 KB, a third of a first visit's bytes) is fetched only by the pages that draw a
// chart, once, instead of by every page before its first paint. It is a same-origin script, so the
// strict CSP (script-src 'self') allows it.
const SOURCE = "/static/vendor/chart.umd.js";
let loading = null;

export function loadChart() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = SOURCE;
      script.onload = () => (window.Chart ? resolve(window.Chart) : reject(new Error("Chart.js did not define Chart")));
      script.onerror = () => {
        loading = null; // a later page may try again
        reject(new Error("Chart.js could not be loaded"));
      };
      document.head.appendChild(script);
    });
  }
  return loading;
}

// Draws `config` on the canvas behind `canvasRef` once Chart.js is there; returns the effect's cleanup.
export function drawChart(canvasRef, config, onFailure) {
  let chart = null;
  let cancelled = false;
  loadChart()
    .then((Chart) => {
      if (!cancelled && canvasRef.current) chart = new Chart(canvasRef.current, config);
    })
    .catch(() => {
      if (!cancelled && onFailure) onFailure();
    });
  return () => {
    cancelled = true;
    if (chart) chart.destroy();
  };
}
