"""A page read by a vision-language model, as a :class:`PageLayout` for the shared output writers.

The model already gave blocks in reading order with their content; assembly only places them:
page furniture (header, footer, page number, page footnote, aside text) goes to ``discarded``;
captions and footnotes become children of the nearest figure or table (:func:`attach_children`);
figures, tables and display equations take the crop the ``crop`` stage cut for their box (its
image file), and titles without a level from the model get level 1.  Blocks left without content
(a failed stage-2 request, an empty answer) are dropped, except figures and equations that have an
image.
"""

from __future__ import annotations

from docray.datamodel import Block, PageLayout, PageText
from docray.operators.textlayer.layout_page import LayoutOptions, attach_children, crop_name, matching_crop
from docray.operators.textlayer.regions import family
from docray.schema import BlockType

_MATCH_IOU = LayoutOptions().match_iou


def vlm_page_layout(page: PageText) -> PageLayout:
    """The layout of a page that carries ``vlm_blocks`` (not None)."""
    layout = PageLayout(page_idx=page.page_idx, width=page.width, height=page.height)
    blocks: list[Block] = []
    attached: list[Block] = []
    for block in page.vlm_blocks or []:
        if family(block.type) == "visual":
            _take_crop(block, page, layout.image_files)
        if not _has_content(block):
            continue
        if block.type == BlockType.TITLE and block.level <= 0:
            block.level = 1
        if block.type.is_discarded:
            layout.discarded.append(block)
        elif block.type in _PARENT_OF:
            attached.append(block)
        else:
            blocks.append(block)
    attach_children(attached, blocks)
    layout.blocks = blocks
    return layout


_PARENT_OF = {
    BlockType.IMAGE_CAPTION,
    BlockType.IMAGE_FOOTNOTE,
    BlockType.TABLE_CAPTION,
    BlockType.TABLE_FOOTNOTE,
}


def _has_content(block: Block) -> bool:
    return bool(block.text.strip() or block.html or block.latex or block.img_path)


def _take_crop(block: Block, page: PageText, image_files: dict[str, bytes]) -> None:
    crop = matching_crop(block.type, block.bbox, page.crops, _MATCH_IOU)
    if crop is None:
        return
    data = crop.data
    block.img_path = crop_name(data)
    image_files[block.img_path] = data
