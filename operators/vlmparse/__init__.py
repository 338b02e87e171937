"""Pure logic of the ``vlm`` operator: prompts, parsers of model outputs, blocks, handwriting fields.

Nothing here imports a model or Ray; tests call these functions on hand-written model outputs.
"""
