

def test_no_count_sits_where_several_edges_run_together(demo_run):
    from tfexplore.layout import _is_shared, _shared_lines

    explorer = _everything_open(demo_run)
    explorer.set_viewport(1200, 500)  # wrapped: edges into later bands share the gaps
    result = explorer.layout
    lines = _shared_lines(result.edges)
    assert any(len({j for *_, j in stretches}) > 1 for stretches in lines.values())
    for k, (x, y) in edge_count_positions(result).items():
        anchor = (x - 4, y - result.params.small_font_size / 2 + 1)  # the point it labels
        points = result.edges[k].points
        segment = min(
            zip(points, points[1:]),
            key=lambda s: math.dist(anchor, s[0]) + math.dist(anchor, s[1]) - math.dist(*s),
        )
        assert not _is_shared(segment, k, lines), (result.edges[k].src, result.edges[k].dst)
