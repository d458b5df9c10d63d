"""Translations of the email templates' sentences, keyed by the English text (gettext style).

A value is the translation, or for counted phrases a (singular, plural) pair chosen by
``plural_index``. English needs no catalogue: the templates are written in it. A test checks that
every sentence of every template has a translation in every catalogue.
"""

from __future__ import annotations

Catalog = dict[str, str | tuple[str, str]]

NBSP = "\u00a0"  # French puts a non-breaking space before a colon.

ES: Catalog = {
    "%(num)d minute": ("%(num)d minuto", "%(num)d minutos"),
    "%(num)d hour": ("%(num)d hora", "%(num)d horas"),
    "%(num)d day": ("%(num)d día", "%(num)d días"),
    "Hello,": "Hola:",
    "Hello %(name)s,": "Hola, %(name)s:",
    "If the button does not work, copy this link into your browser:": (
        "Si el botón no funciona, copia este enlace en tu navegador:"
    ),
    "Or enter this code where you asked for the link:": "O introduce este código donde solicitaste el enlace:",
    "The code works once and expires in %(duration)s.": (
        "El código solo se puede usar una vez y caduca en %(duration)s."
    ),
    "The link works once and expires in %(duration)s.": (
        "El enlace solo se puede usar una vez y caduca en %(duration)s."
    ),
    "If you did not expect this email, you can ignore it.": "Si no esperabas este correo, puedes ignorarlo.",
    # discovery
    "Your sign-in link": "Tu enlace para iniciar sesión",
    "Sign in": "Iniciar sesión",
    "Sign in to %(brand)s": "Inicia sesión en %(brand)s",
    "Use the button below to sign in, then choose one of your organizations or create a new one.": (
        "Usa el botón de abajo para iniciar sesión y después elige una de tus organizaciones o crea una nueva."
    ),
    "Use this link to sign in, then choose one of your organizations or create a new one:": (
        "Usa este enlace para iniciar sesión y después elige una de tus organizaciones o crea una nueva:"
    ),
    # login
    "Sign in to %(organization_name)s": "Inicia sesión en %(organization_name)s",
    "Use the button below to sign in to %(organization_name)s.": (
        "Usa el botón de abajo para iniciar sesión en %(organization_name)s."
    ),
    "Use this link to sign in to %(organization_name)s:": (
        "Usa este enlace para iniciar sesión en %(organization_name)s:"
    ),
    # signup
    "Finish joining %(organization_name)s": "Termina de unirte a %(organization_name)s",
    "Join %(organization_name)s": "Únete a %(organization_name)s",
    "Confirm your email address to finish joining %(organization_name)s.": (
        "Confirma tu dirección de correo electrónico para terminar de unirte a %(organization_name)s."
    ),
    "Confirm your email address to finish joining %(organization_name)s:": (
        "Confirma tu dirección de correo electrónico para terminar de unirte a %(organization_name)s:"
    ),
    "Confirm and join": "Confirmar y unirme",
    # invite
    "You're invited to join %(organization_name)s": "Te han invitado a unirte a %(organization_name)s",
    "%(inviter)s invited you to join %(organization_name)s.": (
        "%(inviter)s te ha invitado a unirte a %(organization_name)s."
    ),
    "You have been invited to join %(organization_name)s.": "Te han invitado a unirte a %(organization_name)s.",
    "Accept invitation": "Aceptar la invitación",
    "Accept the invitation with this link:": "Acepta la invitación con este enlace:",
    # email OTP
    "Your sign-in code": "Tu código para iniciar sesión",
    "Your sign-in code:": "Tu código para iniciar sesión:",
    "Enter this code where you asked for it:": "Introduce este código donde lo solicitaste:",
    "Your code to sign in to %(organization_name)s": "Tu código para iniciar sesión en %(organization_name)s",
    "Your code to sign in to %(organization_name)s:": "Tu código para iniciar sesión en %(organization_name)s:",
}

PT_BR: Catalog = {
    "%(num)d minute": ("%(num)d minuto", "%(num)d minutos"),
    "%(num)d hour": ("%(num)d hora", "%(num)d horas"),
    "%(num)d day": ("%(num)d dia", "%(num)d dias"),
    "Hello,": "Olá,",
    "Hello %(name)s,": "Olá, %(name)s,",
    "If the button does not work, copy this link into your browser:": (
        "Se o botão não funcionar, copie este link no seu navegador:"
    ),
    "Or enter this code where you asked for the link:": "Ou digite este código onde você pediu o link:",
    "The code works once and expires in %(duration)s.": "O código só pode ser usado uma vez e expira em %(duration)s.",
    "The link works once and expires in %(duration)s.": "O link só pode ser usado uma vez e expira em %(duration)s.",
    "If you did not expect this email, you can ignore it.": "Se você não esperava este e-mail, pode ignorá-lo.",
    # discovery
    "Your sign-in link": "Seu link de acesso",
    "Sign in": "Entrar",
    "Sign in to %(brand)s": "Entrar em %(brand)s",
    "Use the button below to sign in, then choose one of your organizations or create a new one.": (
        "Use o botão abaixo para entrar e, em seguida, escolha uma das suas organizações ou crie uma nova."
    ),
    "Use this link to sign in, then choose one of your organizations or create a new one:": (
        "Use este link para entrar e, em seguida, escolha uma das suas organizações ou crie uma nova:"
    ),
    # login
    "Sign in to %(organization_name)s": "Entrar em %(organization_name)s",
    "Use the button below to sign in to %(organization_name)s.": (
        "Use o botão abaixo para entrar em %(organization_name)s."
    ),
    "Use this link to sign in to %(organization_name)s:": "Use este link para entrar em %(organization_name)s:",
    # signup
    "Finish joining %(organization_name)s": "Conclua seu cadastro em %(organization_name)s",
    "Join %(organization_name)s": "Participe de %(organization_name)s",
    "Confirm your email address to finish joining %(organization_name)s.": (
        "Confirme seu endereço de e-mail para concluir seu cadastro em %(organization_name)s."
    ),
    "Confirm your email address to finish joining %(organization_name)s:": (
        "Confirme seu endereço de e-mail para concluir seu cadastro em %(organization_name)s:"
    ),
    "Confirm and join": "Confirmar e participar",
    # invite
    "You're invited to join %(organization_name)s": "Você recebeu um convite para participar de %(organization_name)s",
    "%(inviter)s invited you to join %(organization_name)s.": (
        "%(inviter)s convidou você para participar de %(organization_name)s."
    ),
    "You have been invited to join %(organization_name)s.": (
        "Você recebeu um convite para participar de %(organization_name)s."
    ),
    "Accept invitation": "Aceitar convite",
    "Accept the invitation with this link:": "Aceite o convite com este link:",
    # email OTP
    "Your sign-in code": "Seu código de acesso",
    "Your sign-in code:": "Seu código de acesso:",
    "Enter this code where you asked for it:": "Digite este código onde você o solicitou:",
    "Your code to sign in to %(organization_name)s": "Seu código para entrar em %(organization_name)s",
    "Your code to sign in to %(organization_name)s:": "Seu código para entrar em %(organization_name)s:",
}

FR: Catalog = {
    "%(num)d minute": ("%(num)d minute", "%(num)d minutes"),
    "%(num)d hour": ("%(num)d heure", "%(num)d heures"),
    "%(num)d day": ("%(num)d jour", "%(num)d jours"),
    "Hello,": "Bonjour,",
    "Hello %(name)s,": "Bonjour %(name)s,",
    "If the button does not work, copy this link into your browser:": (
        f"Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur{NBSP}:"
    ),
    "Or enter this code where you asked for the link:": f"Ou saisissez ce code là où vous avez demandé le lien{NBSP}:",
    "The code works once and expires in %(duration)s.": (
        "Le code ne peut être utilisé qu'une seule fois et expire dans %(duration)s."
    ),
    "The link works once and expires in %(duration)s.": (
        "Le lien ne peut être utilisé qu'une seule fois et expire dans %(duration)s."
    ),
    "If you did not expect this email, you can ignore it.": (
        "Si vous n'attendiez pas cet e-mail, vous pouvez l'ignorer."
    ),
    # discovery
    "Your sign-in link": "Votre lien de connexion",
    "Sign in": "Se connecter",
    "Sign in to %(brand)s": "Connectez-vous à %(brand)s",
    "Use the button below to sign in, then choose one of your organizations or create a new one.": (
        "Utilisez le bouton ci-dessous pour vous connecter, puis choisissez l'une de vos organisations "
        "ou créez-en une nouvelle."
    ),
    "Use this link to sign in, then choose one of your organizations or create a new one:": (
        "Utilisez ce lien pour vous connecter, puis choisissez l'une de vos organisations "
        f"ou créez-en une nouvelle{NBSP}:"
    ),
    # login
    "Sign in to %(organization_name)s": "Connectez-vous à %(organization_name)s",
    "Use the button below to sign in to %(organization_name)s.": (
        "Utilisez le bouton ci-dessous pour vous connecter à %(organization_name)s."
    ),
    "Use this link to sign in to %(organization_name)s:": (
        f"Utilisez ce lien pour vous connecter à %(organization_name)s{NBSP}:"
    ),
    # signup
    "Finish joining %(organization_name)s": "Finalisez votre inscription à %(organization_name)s",
    "Join %(organization_name)s": "Rejoignez %(organization_name)s",
    "Confirm your email address to finish joining %(organization_name)s.": (
        "Confirmez votre adresse e-mail pour finaliser votre inscription à %(organization_name)s."
    ),
    "Confirm your email address to finish joining %(organization_name)s:": (
        f"Confirmez votre adresse e-mail pour finaliser votre inscription à %(organization_name)s{NBSP}:"
    ),
    "Confirm and join": "Confirmer et rejoindre",
    # invite
    "You're invited to join %(organization_name)s": "Invitation à rejoindre %(organization_name)s",
    "%(inviter)s invited you to join %(organization_name)s.": (
        "%(inviter)s vous invite à rejoindre %(organization_name)s."
    ),
    "You have been invited to join %(organization_name)s.": (
        "Vous avez reçu une invitation à rejoindre %(organization_name)s."
    ),
    "Accept invitation": "Accepter l'invitation",
    "Accept the invitation with this link:": f"Acceptez l'invitation avec ce lien{NBSP}:",
    # email OTP
    "Your sign-in code": "Votre code de connexion",
    "Your sign-in code:": f"Votre code de connexion{NBSP}:",
    "Enter this code where you asked for it:": f"Saisissez ce code là où vous l'avez demandé{NBSP}:",
    "Your code to sign in to %(organization_name)s": "Votre code pour vous connecter à %(organization_name)s",
    "Your code to sign in to %(organization_name)s:": (
        f"Votre code pour vous connecter à %(organization_name)s{NBSP}:"
    ),
}

CATALOGS: dict[str, Catalog] = {"es": ES, "pt-br": PT_BR, "fr": FR}


def plural_index(locale: str, n: int) -> int:
    """0 for the singular form, 1 for the plural (CLDR: French and Portuguese count 0 as singular)."""
    if locale in ("fr", "pt-br"):
        return 0 if n in (0, 1) else 1
    return 0 if n == 1 else 1
