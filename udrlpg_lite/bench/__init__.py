"""The project's measurements of itself: ``engine`` (the batched engine against gymnasium and
mj_step), ``population`` (population training against the faithful schedule), ``training`` (our
training loop against one built like the authors'), and ``gpu_check`` (the GPU report).

May import every layer below the command line.
"""
