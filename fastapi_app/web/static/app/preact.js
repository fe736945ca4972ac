// Preact + hooks + htm, as one vendored ES module (htm/preact/standalone.module.js): no build step.
export {
  html,
  render,
  h,
  Component,
  createContext,
  useState,
  useReducer,
  useEffect,
  useLayoutEffect,
  useRef,
  useMemo,
  useCallback,
  useContext,
} from "/static/vendor/htm-preact-standalone.module.js";
