// A tidy tree layout of the network, own code instead of a graph library: the network is a
// tree from the substation (the server sends a breadth-first spanning tree) plus a few pipes
// that close loops, so leaves in rows and parents at their children's middle is all it takes
// (elkjs would add 1.4 MB to the panel for the same picture).

export const ROW = 22; // px per building row
export const COLUMN = 26; // px per tree level
export const SQUARE = 9; // px per household square
export const PER_LINE = 30; // household squares per line

/**
 * Positions for the topology: {nodes: Map(id → {x, y, parent}), inlets: Map(id → {x, y, ...}),
 * width, height}. Junctions that lead to no inlet are dropped and straight runs of pipe
 * (a node with one child) are drawn as one segment; expanded buildings get the height of
 * their household squares.
 */
export function layout(topology, expanded) {
  const children = new Map();
  const parentOf = new Map();
  for (const [id, parent] of topology.nodes) {
    parentOf.set(id, parent);
    if (parent !== null) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(id);
    }
  }
  const inletsAt = new Map();
  for (const inlet of topology.inlets) {
    if (!inletsAt.has(inlet.node)) inletsAt.set(inlet.node, []);
    inletsAt.get(inlet.node).push(inlet);
  }
  const useful = new Map(); // node → leads to an inlet
  const leads = (id) => {
    if (useful.has(id)) return useful.get(id);
    useful.set(id, false); // a loop in a broken tree must not recurse forever
    const value =
      inletsAt.has(id) || (children.get(id) || []).some((child) => leads(child));
    useful.set(id, value);
    return value;
  };
  const root = topology.substation.node;
  const nodes = new Map();
  const inlets = new Map();
  let y = ROW / 2;
  let deepest = 0;
  const place = (id, depth, parent) => {
    let kids = (children.get(id) || []).filter(leads);
    const own = inletsAt.get(id) || [];
    // a pass-through node (one pipe in, one out, no inlet) is folded into its child
    while (id !== root && kids.length === 1 && own.length === 0 && !inletsAt.has(kids[0])
      && (children.get(kids[0]) || []).filter(leads).length > 0) {
      nodes.set(id, { x: depth * COLUMN, y: null, parent, folded: kids[0] });
      id = kids[0];
      kids = (children.get(id) || []).filter(leads);
    }
    const ys = [];
    for (const inlet of own) {
      const rows = expanded.has(inlet.id) ? Math.ceil(inlet.households.length / PER_LINE) : 0;
      const extra = rows * (SQUARE + 2);
      inlets.set(inlet.id, { ...inlet, x: (depth + 1) * COLUMN, y, parent: id });
      deepest = Math.max(deepest, depth + 1);
      ys.push(y);
      y += ROW + extra;
    }
    for (const kid of kids) ys.push(place(kid, depth + 1, id));
    const mid = ys.length ? (ys[0] + ys[ys.length - 1]) / 2 : y;
    nodes.set(id, { x: depth * COLUMN, y: mid, parent });
    deepest = Math.max(deepest, depth);
    return mid;
  };
  place(root, 0, null);
  // folded nodes sit on their child's line, so loop closures still find them
  for (const [id, node] of nodes) {
    if (node.y === null) {
      let target = node.folded;
      while (nodes.get(target) && nodes.get(target).y === null) target = nodes.get(target).folded;
      node.y = nodes.get(target) ? nodes.get(target).y : 0;
    }
  }
  return { nodes, inlets, width: (deepest + 1) * COLUMN, height: y };
}
