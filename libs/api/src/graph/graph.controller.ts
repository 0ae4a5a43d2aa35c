import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { AlmanacQueries } from '../api-queries';
import { QUERIES } from '../api.controllers';
import { parseOr400 } from '../api-schemas';
import { GraphQuery } from '../preview/preview-schemas';
import { renderGraph } from './dag-graph';

type HeaderSink = { setHeader(name: string, value: string): unknown };

@ApiTags('decisions')
@ApiBearerAuth()
@Controller('graph')
export class GraphController {
  constructor(@Inject(QUERIES) private readonly q: AlmanacQueries) {}

  @Get()
  @ApiOperation({
    summary:
      'The DAG (passes, dependencies, per-entity or global) as json, mermaid, dot or text; with from and to, each computation marked with what runs of those dates would do. Appends nothing',
  })
  @ApiQuery({ name: 'format', required: false, enum: ['json', 'mermaid', 'dot', 'text'] })
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false })
  async graph(@Query() query: unknown, @Res({ passthrough: true }) res: HeaderSink) {
    const { format, from, to } = parseOr400(GraphQuery, query, 'query');
    const graph = await this.q.graph(from && to ? { from, to } : undefined);
    if (format === 'json') return graph;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    return renderGraph(graph, format);
  }
}
