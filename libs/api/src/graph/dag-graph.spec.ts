import { renderGraph, type DagGraph, type DagNode } from './dag-graph';

const node = (name: string, pass: number, dependencies: string[] = []): DagNode => ({
  name,
  pass,
  type: 'per-entity',
  dependencies,
  marks: null,
});

describe('renderGraph', () => {
  it('given names Mermaid or DOT would misread, when rendered, then ids are safe and labels keep the names', () => {
    const graph: DagGraph = {
      passes: [['end', 'Daily-Volume', 'Daily_Volume'], ['Say "hi"']],
      nodes: [
        node('end', 0),
        node('Daily-Volume', 0),
        node('Daily_Volume', 0),
        node('Say "hi"', 1, ['end', 'Daily-Volume']),
      ],
      range: null,
    };
    const mermaid = renderGraph(graph, 'mermaid').split('\n');
    expect(mermaid).toEqual(
      expect.arrayContaining([
        '    end_["end<br/>per-entity"]',
        '    Daily_Volume["Daily-Volume<br/>per-entity"]',
        '    Daily_Volume_2["Daily_Volume<br/>per-entity"]',
        '    Say__hi_["Say #quot;hi#quot;<br/>per-entity"]',
        '  end_ --> Say__hi_',
        '  Daily_Volume --> Say__hi_',
      ]),
    );
    const dot = renderGraph(graph, 'dot').split('\n');
    expect(dot).toEqual(
      expect.arrayContaining([
        '    "Say \\"hi\\"" [label="Say \\"hi\\"\\nper-entity"];',
        '  "end" -> "Say \\"hi\\"";',
      ]),
    );
    expect(renderGraph(graph, 'text').split('\n')).toEqual([
      'pass 0',
      '  end (per-entity)',
      '  Daily-Volume (per-entity)',
      '  Daily_Volume (per-entity)',
      'pass 1',
      '  Say "hi" (per-entity) <- end, Daily-Volume',
    ]);
  });
});
