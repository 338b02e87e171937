"""A converted page's ``converted_blocks`` and ``converted_images`` as a :class:`PageLayout` (pure, no Ray).

The blocks arrive flat, in reading order; a caption or footnote (``image_caption``, ``table_footnote``
...) follows the figure or table it belongs to and becomes its child again; headers, footers and
page numbers go to ``discarded``.  Reading-order numbers are given as the text-layer assembler gives them.
"""

from __future__ import annotations

from typing import Any

from docray.datamodel import Block, PageLayout
from docray.schema import BlockType

_CHILD_OF = {
    BlockType.IMAGE_CAPTION: BlockType.IMAGE,
    BlockType.IMAGE_FOOTNOTE: BlockType.IMAGE,
    BlockType.TABLE_CAPTION: BlockType.TABLE,
    BlockType.TABLE_FOOTNOTE: BlockType.TABLE,
}


def is_converted(row: dict[str, Any]) -> bool:
    """The page row came from a converted document (its blocks were read from the document's structure)."""
    return row.get("converted_blocks") is not None


def converted_page_layout(row: dict[str, Any]) -> PageLayout:
    """The layout of a page row whose ``converted_blocks`` is not None."""
    layout = PageLayout(page_idx=int(row["page_idx"]), width=float(row["width"]), height=float(row["height"]))
    parent: Block | None = None
    for block in (Block.from_block_row(b) for b in row.get("converted_blocks") or []):
        if block.type in _CHILD_OF:
            if parent is not None and parent.type == _CHILD_OF[block.type]:
                parent.children.append(block)
            else:  # a caption without its figure: keep its text
                block.type = BlockType.TEXT
                layout.blocks.append(block)
            continue
        if block.type.is_discarded:
            block.order = -1
            layout.discarded.append(block)
            continue
        layout.blocks.append(block)
        parent = block
    for order, block in enumerate(layout.blocks):
        block.order = order
        for child in block.children:
            child.order = order
    layout.image_files = {image["path"]: bytes(image["data"]) for image in row.get("converted_images") or []}
    return layout
