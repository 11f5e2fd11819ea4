// One colour per quantity, the same in every chart and legend.
export const COLORS = {
  "Import price": "#e6c229",
  PV: "#ffa726",
  Load: "#9fb3c8",
  Charge: "#5cc46a",
  Discharge: "#ef5350",
  Export: "#b06bd6",
  Water: "#29b6f6",
  EV: "#26c6b0",
  "SoC projected": "#7f8cff",
  "SoC actual": "#f2f4f8",
  "SoC target": "#f06292",
  "SoC planned": "#7f8cff",
  "SoC band": "#7f8cff",
  "Planned cost": "#7f8cff",
  "Actual cost": "#e6c229",
} as const;

export const ACTION_COLORS: Record<string, string> = {
  charge: "#5cc46a",
  pv_charge: "#c7d94a",
  discharge: "#ef5350",
  export: "#b06bd6",
  hold: "#6d7f91",
};

export const RISK_COLORS: Record<string, string> = {
  low: "#5cc46a",
  medium: "#e6c229",
  high: "#ef5350",
};
